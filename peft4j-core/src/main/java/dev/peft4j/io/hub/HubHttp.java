package dev.peft4j.io.hub;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscribers;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * HTTP for the Hub: follows redirects itself so that the token is sent only to the endpoint's
 * host (never to the CDN that serves large files), and turns failures into {@link HubException}s
 * that name the method and URL.
 */
final class HubHttp {
  private static final int MAX_REDIRECTS = 10;
  /** Time to wait for response headers; a body may take as long as it needs. */
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(60);

  private final HttpClient client;
  private final String trustedAuthority;
  private final Optional<String> token;

  HubHttp(HttpClient client, URI endpoint, Optional<String> token) {
    this.client = Objects.requireNonNull(client, "client");
    this.trustedAuthority = endpoint.getScheme() + "://" + endpoint.getAuthority();
    this.token = token;
  }

  static HttpClient defaultClient() {
    return HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NEVER)
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  /**
   * Sends a request, following redirects.
   *
   * @param followAbsoluteRedirects if false, a redirect to an absolute URL (another host, e.g.
   *     the CDN of an LFS file) is returned as is; relative ones (renamed repos) are followed.
   *     {@code huggingface_hub} does the same for its metadata HEAD request.
   */
  <T> HttpResponse<T> send(String method, URI uri, Map<String, String> headers, BodyHandler<T> handler,
      boolean followAbsoluteRedirects) throws IOException {
    URI current = uri;
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
      HttpRequest.Builder b = HttpRequest.newBuilder(current)
          .timeout(RESPONSE_TIMEOUT)
          .method(method, HttpRequest.BodyPublishers.noBody())
          .header("User-Agent", "peft4j");
      headers.forEach(b::header);
      if (token.isPresent() && isTrusted(current)) {
        b.header("Authorization", "Bearer " + token.get());
      }
      HttpResponse<T> response;
      try {
        response = client.send(b.build(), info -> isRedirect(info.statusCode()) && info.headers().firstValue("Location").isPresent()
            ? BodySubscribers.replacing(null)
            : handler.apply(info));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        InterruptedIOException ie = new InterruptedIOException("interrupted: " + method + " " + current);
        ie.initCause(e);
        throw ie;
      } catch (IOException e) {
        throw new HubException("network error on " + method + " " + current + ": " + e, e);
      }
      Optional<String> location = response.headers().firstValue("Location");
      if (!isRedirect(response.statusCode()) || location.isEmpty()) {
        return response;
      }
      URI next = URI.create(location.get());
      if (next.isAbsolute() && !followAbsoluteRedirects) {
        return response;
      }
      current = current.resolve(next);
    }
    throw new HubException("too many redirects (> " + MAX_REDIRECTS + ") for " + method + " " + uri);
  }

  private boolean isTrusted(URI uri) {
    return trustedAuthority.equalsIgnoreCase(uri.getScheme() + "://" + uri.getAuthority());
  }

  static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  /** An exception for an unexpected status, naming the URL and what the Hub said. */
  static HubException statusError(String method, URI uri, HttpResponse<?> response) {
    int status = response.statusCode();
    String hint;
    switch (status) {
      case 401:
        hint = " (the repository does not exist, or it is private or gated and needs a token: set HF_TOKEN)";
        break;
      case 403:
        hint = " (access denied: the token cannot read this repository; gated models must be accepted on the Hub first)";
        break;
      case 404:
        hint = " (not found)";
        break;
      case 416:
        hint = " (range not satisfiable)";
        break;
      default:
        hint = status >= 500 ? " (server error; try again later)" : "";
    }
    String said = response.headers().firstValue("X-Error-Message").map(m -> ": " + m).orElse("");
    return new HubException("HTTP " + status + " for " + method + " " + uri + hint + said);
  }
}
