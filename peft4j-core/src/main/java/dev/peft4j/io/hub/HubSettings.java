package dev.peft4j.io.hub;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Where the cache is and how to reach the Hub, read from the same environment variables as
 * Python's {@code huggingface_hub}.
 *
 * @param cacheDir the hub cache: {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else
 *     {@code $XDG_CACHE_HOME/huggingface/hub}, else {@code ~/.cache/huggingface/hub}
 * @param endpoint {@code $HF_ENDPOINT} without a trailing slash, default {@code https://huggingface.co}
 * @param token {@code $HF_TOKEN}, sent as {@code Authorization: Bearer} to the endpoint's host only
 * @param offline {@code $HF_HUB_OFFLINE} is {@code 1}, {@code true}, {@code yes} or {@code on}
 *     (any case): never contact the Hub
 */
public record HubSettings(Path cacheDir, URI endpoint, Optional<String> token, boolean offline) {
  /** The public Hub. */
  public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");

  private static final Set<String> TRUE_VALUES = Set.of("1", "true", "yes", "on");

  public HubSettings {
    Objects.requireNonNull(cacheDir, "cacheDir");
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(token, "token");
    String scheme = endpoint.getScheme();
    if (!"https".equalsIgnoreCase(scheme) && !"http".equalsIgnoreCase(scheme) || endpoint.getHost() == null) {
      throw new IllegalArgumentException("HF_ENDPOINT must be an http(s) URL: " + endpoint);
    }
  }

  /**
   * Reads the settings from an environment map (normally {@link System#getenv()}) and a home
   * directory (normally {@code user.home}); both are parameters so that tests and embedders
   * control them. A leading {@code ~/} in path variables is expanded to {@code home}.
   */
  public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
    Path cache;
    if (isSet(env, "HF_HUB_CACHE")) {
      cache = expand(env.get("HF_HUB_CACHE"), home);
    } else if (isSet(env, "HF_HOME")) {
      cache = expand(env.get("HF_HOME"), home).resolve("hub");
    } else if (isSet(env, "XDG_CACHE_HOME")) {
      cache = expand(env.get("XDG_CACHE_HOME"), home).resolve("huggingface").resolve("hub");
    } else {
      cache = home.resolve(".cache").resolve("huggingface").resolve("hub");
    }
    URI endpoint = DEFAULT_ENDPOINT;
    if (isSet(env, "HF_ENDPOINT")) {
      String e = env.get("HF_ENDPOINT").trim();
      while (e.endsWith("/")) {
        e = e.substring(0, e.length() - 1);
      }
      endpoint = URI.create(e);
    }
    Optional<String> token = isSet(env, "HF_TOKEN") ? Optional.of(env.get("HF_TOKEN").trim()) : Optional.empty();
    boolean offline = isSet(env, "HF_HUB_OFFLINE")
        && TRUE_VALUES.contains(env.get("HF_HUB_OFFLINE").trim().toLowerCase(Locale.ROOT));
    return new HubSettings(cache, endpoint, token, offline);
  }

  /** {@link #fromEnvironment} with this process's environment and {@code user.home}. */
  public static HubSettings fromSystem() {
    return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
  }

  /** The token is never printed. */
  @Override
  public String toString() {
    return "HubSettings[cacheDir=" + cacheDir + ", endpoint=" + endpoint
        + ", token=" + (token.isPresent() ? "<set>" : "<none>") + ", offline=" + offline + "]";
  }

  private static boolean isSet(Map<String, String> env, String key) {
    String v = env.get(key);
    return v != null && !v.isBlank();
  }

  private static Path expand(String value, Path home) {
    String v = value.trim();
    if (v.equals("~")) {
      return home;
    }
    if (v.startsWith("~/")) {
      return home.resolve(v.substring(2));
    }
    return Path.of(v);
  }
}
