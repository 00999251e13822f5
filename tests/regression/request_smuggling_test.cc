// Request smuggling: framing a front end and a back end could read
// differently is refused with 400 and the connection closed, and the bytes
// that would have been a second, smuggled request are never answered
// (after HAProxy's h2_desync_attacks.vtc and the classic CL.TE / TE.CL set).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/test_client.h"
#include "support/test_server.h"

namespace plexgate::test {
namespace {

constexpr const char* kConfig = R"(
workers: 1
listeners:
  - name: gateway
    address: 127.0.0.1:0
    routes:
      - prefix: /
        echo: {}
)";

struct Attack {
  const char* name;
  std::string head;
};

class RequestSmugglingTest : public ::testing::TestWithParam<Attack> {};

TEST_P(RequestSmugglingTest, RefusedWith400AndClosed) {
  TestServer server(kConfig);
  ASSERT_NE(server.port(), 0);
  {
    TestClient c(server.port());
    const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n";
    ASSERT_TRUE(c.send(GetParam().head + "0\r\n\r\n" + smuggled));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.waitClosed());
    EXPECT_EQ(c.extra().find("smuggled"), std::string::npos);
  }
  EXPECT_TRUE(server.stop());
}

INSTANTIATE_TEST_SUITE_P(
    Attacks, RequestSmugglingTest,
    ::testing::Values(
        Attack{"cl_te", "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"},
        Attack{"te_cl", "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"},
        Attack{"two_different_cl", "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"},
        Attack{"cl_list", "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5, 6\r\n\r\n"},
        Attack{"te_not_final_chunked", "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"},
        Attack{"te_gzip_only", "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n"},
        Attack{"te_obfuscated_x", "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: xchunked\r\n\r\n"},
        Attack{"te_two_headers", "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"},
        Attack{"te_space_before_colon", "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding : chunked\r\n\r\n"},
        Attack{"cl_plus_sign", "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: +5\r\n\r\n"},
        Attack{"bare_lf_in_header", "POST / HTTP/1.1\r\nHost: test\r\nX: a\nTransfer-Encoding: chunked\r\n\r\n"}),
    [](const ::testing::TestParamInfo<Attack>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace plexgate::test
