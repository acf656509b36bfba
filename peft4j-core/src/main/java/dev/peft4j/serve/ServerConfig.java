package dev.peft4j.serve;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Settings of an {@link InferenceServer}. Build one with {@link #builder()}; every limit has a
 * default.
 *
 * @param host address to listen on; default {@code 127.0.0.1} (loopback only)
 * @param port TCP port; 0 picks a free one ({@link InferenceServer#port()} tells which); default 8080
 * @param maxBatch most requests decoded together in one batch; {@code >= 1}, default 8
 * @param maxQueue most requests waiting for a place in the batch; more get HTTP 429;
 *     {@code >= 1}, default 64
 * @param maxTokens the largest {@code max_tokens} a request may ask for (larger: HTTP 400);
 *     {@code >= 1}, default 256
 * @param maxBodyBytes the largest request body accepted (larger: HTTP 413); {@code >= 1},
 *     default 65536
 * @param adminToken bearer token that the {@code /admin} endpoints require; empty (default) =
 *     they accept requests from loopback addresses only
 * @param shutdownTimeout how long {@link InferenceServer#close()} lets running requests finish
 *     before cancelling them; default 10 s
 */
public record ServerConfig(String host, int port, int maxBatch, int maxQueue, int maxTokens, int maxBodyBytes,
    Optional<String> adminToken, Duration shutdownTimeout) {

  /** @throws IllegalArgumentException naming the setting and the value, if one is out of range */
  public ServerConfig {
    Objects.requireNonNull(host, "host");
    check(port >= 0 && port <= 65535, "port must be in [0, 65535]: %s", port);
    check(maxBatch >= 1, "maxBatch must be at least 1: %s", maxBatch);
    check(maxQueue >= 1, "maxQueue must be at least 1: %s", maxQueue);
    check(maxTokens >= 1, "maxTokens must be at least 1: %s", maxTokens);
    check(maxBodyBytes >= 1, "maxBodyBytes must be at least 1: %s", maxBodyBytes);
    Objects.requireNonNull(adminToken, "adminToken");
    adminToken.ifPresent(t -> check(!t.isBlank(), "adminToken must not be blank: '%s'", t));
    Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
    check(!shutdownTimeout.isNegative(), "shutdownTimeout must not be negative: %s", shutdownTimeout);
  }

  /** Like the record's, but never shows the admin token. */
  @Override
  public String toString() {
    return "ServerConfig[host=" + host + ", port=" + port + ", maxBatch=" + maxBatch + ", maxQueue=" + maxQueue
        + ", maxTokens=" + maxTokens + ", maxBodyBytes=" + maxBodyBytes + ", adminToken="
        + (adminToken.isPresent() ? "(set)" : "(none)") + ", shutdownTimeout=" + shutdownTimeout + "]";
  }

  /** A builder holding the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  private static void check(boolean condition, String template, Object value) {
    if (!condition) {
      throw new IllegalArgumentException(String.format(template, value));
    }
  }

  /** Collects a {@link ServerConfig}; {@link #build()} validates and leaves the builder unchanged. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 8080;
    private int maxBatch = 8;
    private int maxQueue = 64;
    private int maxTokens = 256;
    private int maxBodyBytes = 65536;
    private Optional<String> adminToken = Optional.empty();
    private Duration shutdownTimeout = Duration.ofSeconds(10);

    private Builder() {}

    public Builder host(String host) {
      this.host = host;
      return this;
    }

    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public Builder maxBatch(int maxBatch) {
      this.maxBatch = maxBatch;
      return this;
    }

    public Builder maxQueue(int maxQueue) {
      this.maxQueue = maxQueue;
      return this;
    }

    public Builder maxTokens(int maxTokens) {
      this.maxTokens = maxTokens;
      return this;
    }

    public Builder maxBodyBytes(int maxBodyBytes) {
      this.maxBodyBytes = maxBodyBytes;
      return this;
    }

    /** The bearer token of the admin endpoints; null for none. */
    public Builder adminToken(String adminToken) {
      this.adminToken = Optional.ofNullable(adminToken);
      return this;
    }

    public Builder shutdownTimeout(Duration shutdownTimeout) {
      this.shutdownTimeout = shutdownTimeout;
      return this;
    }

    /** @throws IllegalArgumentException naming the setting, if a value is out of range */
    public ServerConfig build() {
      return new ServerConfig(host, port, maxBatch, maxQueue, maxTokens, maxBodyBytes, adminToken, shutdownTimeout);
    }
  }
}
