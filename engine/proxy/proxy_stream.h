// ProxyStream: the upstream half of one proxied request. It picks an
// endpoint, takes a pooled keep-alive connection or connects, writes the
// rewritten request head, streams the request body through as raw bytes
// (chunk framing kept), parses the response in place and streams it back the
// same way, with watermarks both ways. Failures before the response head
// become 502/503/504 (retried when safe); after it, the downstream is closed
// so a truncated response never looks complete. Owned by its Session and
// reused for the session's next proxied request; same loop.
#pragma once

#include <cstdint>
#include <vector>
#include <string_view>

#include "engine/buf/buffer_chain.h"
#include "engine/loop/timeout_list.h"
#include "engine/net/connection.h"
#include "engine/proxy/head_rewrite.h"
#include "engine/proxy/router.h"
#include "engine/proxy/upstream_counters.h"
#include "engine/proxy/upstream_pool.h"
#include "parsers/http1_parser.h"

namespace plexgate::proxy {

// What the ProxyStream needs from the downstream side (the Session).
class ProxyDownstream {
 public:
  virtual ~ProxyDownstream() = default;
  virtual buf::BufferChain& downstreamOut() = 0;  // queued for the client
  virtual void downstreamFlush() = 0;
  virtual size_t downstreamPending() const = 0;
  virtual bool downstreamKeepAlive() const = 0;  // may the client connection be reused?
  // The response head is queued; `close_after`: the client connection ends
  // with this response.
  virtual void onProxyResponseHead(int status, bool close_after) = 0;
  virtual void onProxyBodyBytes(uint64_t n) = 0;
  virtual void onProxyResponseComplete() = 0;
  // Failed before any response byte reached the client: answer locally.
  virtual void onProxyError(int status, std::string_view message) = 0;
  // Failed mid-response: the client connection must be closed; with a reset
  // when the response could only end at that close (an HTTP/1.0 client
  // reading until close), so that the cut never looks like the end.
  virtual void onProxyAbort(bool reset) = 0;
  // The upstream drained: more request body may be fed.
  virtual void onProxyRequestWritable() = 0;
  // 101 forwarded: from now on bytes flow raw both ways.
  virtual void onProxyTunnel() = 0;
  // The tunnel's upstream side ended: finish the client side.
  virtual void onProxyTunnelEnd() = 0;
};

class ProxyStream final : private net::ConnectionHandler, private parsers::Http1Handler {
 public:
  ProxyStream(loop::EventLoop& loop, ProxyDownstream& down, UpstreamCounters& counters);
  ~ProxyStream() override;
  ProxyStream(const ProxyStream&) = delete;
  ProxyStream& operator=(const ProxyStream&) = delete;

  // Starts the exchange on `pool` (the routes the request started with).
  // May report failure synchronously (onProxyError).
  void start(UpstreamPool& pool, const ProxyRequest& req);
  // Raw request body bytes (as received: chunk framing included), by reference.
  void sendBody(const buf::SliceRef& slice, const char* data, size_t len);
  // The request's trailer section (chunked uploads), after the body bytes
  // sent so far: re-serialized from the parsed fields (writeTrailerSection).
  void sendTrailers(const std::vector<parsers::HeaderField>& trailers);
  // The request body has been fully received.
  void endBody();
  // True while the upstream has more queued than the high watermark.
  bool bodyBlocked() const;
  // The client drained below the low watermark.
  void onDownstreamWritable();
  // Tunnel: raw bytes from the client.
  void tunnelSend(const buf::SliceRef& slice, const char* data, size_t len);
  // The client went away or the session ends: drop the upstream connection.
  void cancel();
  bool active() const { return state_ != State::Idle && state_ != State::Done; }

 private:
  enum class State : uint8_t { Idle, Backoff, Connecting, Waiting, Receiving, Tunnel, Done };
  using Failure = UpstreamFailure;

  // net::ConnectionHandler (upstream connection events)
  void onData() override;
  void onEof() override;
  void onReadError(int err) override;
  void onWritable() override;
  void onWriteError(int err) override;
  void onClosed() override;
  void onConnected(int status) override;
  // parsers::Http1Handler (upstream response)
  parsers::Next onHead(parsers::MessageHead& head) override;
  parsers::Next onBody(std::string_view chunk) override;
  parsers::Next onMessageComplete() override;

  void attempt();
  void sendHead();
  void parseResponse();
  void finishResponse();
  void fail(Failure f);
  bool canRetry(Failure f) const;
  template <class Append>
  void forwardBody(size_t n, Append&& append);
  void dropConnection();
  void armTimer(std::chrono::milliseconds d);
  static void onTimer(loop::TimeoutNode& node);
  void tunnelPump();

  UpstreamPool* pool_ = nullptr;
  ProxyDownstream& down_;
  UpstreamCounters& counters_;
  loop::EventLoop& loop_;
  ProxyRequest req_;
  ClusterRuntime* cluster_ = nullptr;
  UpstreamConnection* up_ = nullptr;
  int endpoint_ = -1;
  State state_ = State::Idle;
  parsers::Http1Parser parser_;
  buf::BufferChain out_;     // request bytes for the upstream
  buf::BufferChain queued_;  // request body this attempt has still to write (all of it on a retry)
  buf::BufferChain replay_;  // request body kept for a retry (bounded)
  // Upstream read slices the response head's spans point into: a head can
  // straddle two reads, and the first slice must not be recycled before
  // onHead has copied the head out.
  std::vector<buf::SliceRef> head_pins_;
  loop::TimeoutNode timer_;
  uint64_t tried_mask_ = 0;
  uint64_t body_sent_ = 0;
  uint32_t attempts_ = 0;
  bool replayable_ = true;
  bool request_complete_ = false;
  bool head_forwarded_ = false;   // the client has the response head
  bool got_response_bytes_ = false;
  bool raw_body_ = false;         // consumed response bytes are body: forward them
  bool body_start_pending_ = false;
  bool complete_pending_ = false;
  bool interim_ = false;
  bool continue_sent_ = false;
  bool needs_eof_ = false;
  bool rechunk_ = false;          // a read-until-close body goes out chunked
  bool upstream_keep_alive_ = true;
  bool retry_503_ = false;
  bool bad_response_ = false;
  bool switching_ = false;        // a 101 is being forwarded
  bool read_blocked_ = false;     // upstream reading stopped for backpressure
};

}  // namespace plexgate::proxy
