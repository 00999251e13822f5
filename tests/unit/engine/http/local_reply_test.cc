// The JSON error body (DESIGN.md section 2's shape) and its string escaping,
// shared with the admin pages.
#include "engine/http/local_reply.h"

#include <gtest/gtest.h>

namespace plexgate::http {
namespace {

TEST(LocalReply, ErrorBodyHasTheZoweShapeAndEscapesTheMessage) {
  EXPECT_EQ(errorBody(404, "No route"),
            R"({"messages":[{"messageType":"ERROR","messageNumber":"PGW404E","messageContent":"No route"}]})");
  std::string out;
  appendJsonEscaped(out, std::string_view("a\"b\\c\nd\re\tf\x01g\x1fh\x7f", 16));
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\x7f");
}

}  // namespace
}  // namespace plexgate::http
