#include "engine/http/local_reply.h"

#include <cstdio>

namespace plexgate::http {

LocalReply replyFor(parsers::ParseError e) {
  using parsers::ParseError;
  switch (e) {
    case ParseError::None:
    case ParseError::Malformed:
    case ParseError::Truncated:
      return {400, "The request is not valid HTTP/1.1"};
    case ParseError::AmbiguousFraming:
      return {400, "The request's message framing is ambiguous (Content-Length with Transfer-Encoding, "
                   "several Content-Lengths, or a Transfer-Encoding that does not end in chunked)"};
    case ParseError::HeadTooLarge:
      return {431, "The request head is larger than the limit"};
    case ParseError::TooManyHeaders:
      return {431, "The request has more header fields than the limit"};
    case ParseError::UriTooLong:
      return {414, "The request target is longer than the limit"};
    case ParseError::BodyTooLarge:
      return {413, "The request body is larger than the limit"};
    case ParseError::ObsFold:
      return {400, "The request head uses obsolete line folding (obs-fold): a field line starts with a space or tab"};
    case ParseError::VersionNotSupported:
      return {505, "Only HTTP/1.0 and HTTP/1.1 are served here"};
  }
  return {400, "The request is not valid HTTP/1.1"};
}

void appendJsonEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += esc;
        } else {
          out += c;
        }
    }
  }
}

std::string errorBody(int status, std::string_view message) {
  std::string out;
  out.reserve(96 + message.size());
  out += R"({"messages":[{"messageType":"ERROR","messageNumber":"PGW)";
  out += std::to_string(status);
  out += R"(E","messageContent":")";
  appendJsonEscaped(out, message);
  out += "\"}]}";
  return out;
}

size_t writeLocalReply(buf::BufferChain& out, int status, std::string_view message, std::string_view date,
                     ConnectionHeader connection, bool head_only) {
  const std::string body = errorBody(status, message);
  ResponseHead head;
  head.status = status;
  head.date = date;
  head.connection = connection;
  head.content_length = body.size();
  head.content_type = "application/json";
  writeResponseHead(out, head);
  if (!head_only) {
    out.appendCopy(body);
  }
  return body.size();
}

}  // namespace plexgate::http
