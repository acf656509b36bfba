package dev.peft4j.io.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The answer of {@code GET /api/models/REPO/revision/REV}: the commit hash the revision points to
 * and the files of the repo at that commit ({@code siblings[].rfilename}).
 */
record RepoInfo(String sha, Set<String> files) {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  static RepoInfo parse(byte[] body, URI source) throws HubException {
    JsonNode root;
    try {
      root = MAPPER.readTree(body);
    } catch (IOException e) {
      throw new HubException("unexpected answer from " + source + ": not JSON", e);
    }
    String sha = root == null ? "" : root.path("sha").asText("");
    if (!RepoRef.isCommitHash(sha)) {
      throw new HubException("unexpected answer from " + source + ": no commit hash in \"sha\"");
    }
    Set<String> files = new LinkedHashSet<>();
    for (JsonNode sibling : root.path("siblings")) {
      if (sibling.path("rfilename").isTextual()) {
        files.add(sibling.get("rfilename").asText());
      }
    }
    return new RepoInfo(sha, Set.copyOf(files));
  }
}
