// Canned local responses (errors and the like) in DESIGN.md's one JSON shape:
// {"messages":[{"messageType":"ERROR","messageNumber":"PGW404E","messageContent":"..."}]}
// Table-driven from the parser's error kinds (uWS HttpErrors.h).
#pragma once

#include <string>
#include <string_view>

#include "engine/buf/buffer_chain.h"
#include "engine/http/response_writer.h"
#include "parsers/http1_parser.h"

namespace plexgate::http {

struct LocalReply {
  int status;
  std::string_view message;
};

// The reply for a request the parser refused.
LocalReply replyFor(parsers::ParseError e);
// The JSON body, with `message` escaped.
std::string errorBody(int status, std::string_view message);
// `v` as the inside of a JSON string: quote, backslash and control
// characters escaped.
void appendJsonEscaped(std::string& out, std::string_view v);
// Head and JSON body; `head_only` for HEAD requests. Returns the body's
// size (what the access log counts, sent or not).
size_t writeLocalReply(buf::BufferChain& out, int status, std::string_view message, std::string_view date,
                     ConnectionHeader connection, bool head_only = false);

}  // namespace plexgate::http
