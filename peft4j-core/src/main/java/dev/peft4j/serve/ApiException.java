package dev.peft4j.serve;

/**
 * A request that cannot be served, with the HTTP status and the fields of OpenAI's error object
 * ({@code {"error": {"message", "type", "param", "code"}}}).
 */
final class ApiException extends RuntimeException {
  private final int status;
  private final String type;
  private final String param; // the request field at fault, or null
  private final String code;  // a machine-readable reason, or null

  ApiException(int status, String type, String message, String param, String code) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  /** 400: a field is missing, malformed or out of range. */
  static ApiException badRequest(String message, String param) {
    return new ApiException(400, "invalid_request_error", message, param, null);
  }

  /** 404 for a model (adapter) this server does not serve. */
  static ApiException modelNotFound(String model, Iterable<String> served) {
    return new ApiException(404, "invalid_request_error",
        "The model '" + model + "' does not exist; this server serves " + served, "model", "model_not_found");
  }

  static ApiException notFound(String message) {
    return new ApiException(404, "invalid_request_error", message, null, "not_found");
  }

  static ApiException tooLarge(long limit) {
    return new ApiException(413, "invalid_request_error",
        "The request body is larger than this server's limit of " + limit + " bytes", null, "request_too_large");
  }

  static ApiException queueFull(int maxQueue) {
    return new ApiException(429, "rate_limit_error",
        "The server is busy: " + maxQueue + " requests are already waiting; retry later", null, "queue_full");
  }

  static ApiException shuttingDown() {
    return new ApiException(503, "server_error", "The server is shutting down", null, "shutting_down");
  }

  static ApiException internal(String message) {
    return new ApiException(500, "server_error", message, null, null);
  }

  int status() {
    return status;
  }

  String type() {
    return type;
  }

  String param() {
    return param;
  }

  String code() {
    return code;
  }
}
