// Session: one downstream HTTP/1.1 connection on one worker loop. It parses
// requests in place over the connection's read slices and answers them in
// order, one at a time: the parser stops at the end of each message until
// its response is queued, so pipelined requests are answered in order with
// bounded memory. Local routes (respond, echo) answer here; proxy and
// service routes hand the request to a ProxyStream, and request and response
// bodies pass through as raw bytes by reference.
//
// A connection is a ClientSlot, listed by its Worker, for its whole life; a
// Session is attached to it while it has work. A plain connection idle for
// `timeouts.park` (500 ms: one under load, a request every few ms, never
// pays for a new Session) is parked: its Session (1 KiB, more with a proxy
// stream) is freed and the 320-byte slot (socket, deadline, request count)
// stays in the poll set; its next bytes make a new Session. The Session is
// freed by deferred delete then, or after the connection's close callback
// (and the delay timer's, when it was used), which also frees the slot.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/buf/buffer_chain.h"
#include "engine/fanout/fanout_stream.h"
#include "engine/http/response_writer.h"
#include "engine/loop/event_loop.h"
#include "engine/loop/timeout_list.h"
#include "engine/net/connection.h"
#include "engine/proxy/proxy_stream.h"
#include "engine/server/admin.h"
#include "engine/server/worker.h"
#include "parsers/http1_parser.h"

namespace plexgate::proxy {

class Session;

// One downstream connection for its whole life (see Session). While parked
// it is all that remains: its deadline keeps running (the header or
// keep-alive timeout armed by the last Session) and its next read wakes it
// (the worker loop's parked-socket hook is ClientSlot::onWake). 320 bytes,
// mimalloc's 320-byte class: everything a Session can find again (the peer
// address, the Session itself through `conn`) is left out.
struct ClientSlot final : net::Socket {
  explicit ClientSlot(server::ListenerRuntime& l);
  ClientSlot(const ClientSlot&) = delete;
  ClientSlot& operator=(const ClientSlot&) = delete;

  // Graceful / immediate close, as Session::drain and forceClose; a parked
  // connection closes at once.
  void drain();
  void forceClose();
  // The attached Session; null while parked.
  Session* session() const;
  static void onWake(uv_handle_t* handle);

  server::ListenerRuntime& listener;
  loop::TimeoutNode timeout;  // the attached Session's timeout while attached
  uint32_t requests = 0;       // served on this connection
  uint32_t list_index = 0;     // position in the Worker's list

 private:
  static void onTimeout(loop::TimeoutNode& node);
  static void onParkedClosed(uv_handle_t* h);
  void closeParked();
};

class Session final : public loop::DeferredDeletable,
                      private net::ConnectionHandler,
                      private parsers::Http1Handler,
                      private ProxyDownstream,
                      private fanout::FanoutOwner {
 public:
  // Attached to `slot` (a new one, or a parked one being woken).
  explicit Session(ClientSlot& slot);
  ~Session() override;

  // Accepts the pending connection on `server` into a new slot; false if
  // that failed (the session and the slot then free themselves).
  static bool accept(server::ListenerRuntime& listener, uv_stream_t* server);
  // Graceful: the response in flight (if any) completes with Connection:
  // close; an idle connection closes now.
  void drain();
  // Immediate close (drain deadline).
  void forceClose();

 private:
  // One request and its response. Views point into head_pins_ / the parser
  // arena and stay valid until the next message begins.
  struct Stream {
    bool active = false;
    bool head_request = false;
    bool keep_alive = true;
    bool response_started = false;
    bool response_done = false;
    bool request_done = false;
    bool echo = false;
    bool echo_chunked = false;
    bool proxy = false;
    bool fanout = false;  // /zosmf/gateway/...: answered by a FanoutStream
    bool waiting_delay = false;
    int status = 0;
    uint64_t body_sent = 0;
    uint64_t fill_left = 0;  // of a generated body (respond.body_size), not yet queued
    uint64_t start_ns = 0;
    std::string_view method;
    std::string_view target;
    std::string_view referer;
    std::string_view user_agent;
    uint8_t http_major = 1;
    uint8_t http_minor = 1;
    const config::RespondAction* respond = nullptr;
  };

  // net::ConnectionHandler
  void onData() override;
  void onEof() override;
  void onReadError(int uv_err) override;
  void onWritable() override;
  void onWriteError(int uv_err) override;
  void onClosed() override;
  void onTlsHandshake() override;

  friend struct ClientSlot;
  bool start(uv_stream_t* server);
  // A parked slot is readable: attach a new Session to it.
  void resume();
  bool parkable() const;
  void park();
  static void onPark(loop::TimeoutNode& node);

  // parsers::Http1Handler
  void onMessageBegin() override;
  parsers::Next onHead(parsers::MessageHead& head) override;
  parsers::Next onBody(std::string_view chunk) override;
  parsers::Next onMessageComplete() override;

  // ProxyDownstream
  buf::BufferChain& downstreamOut() override { return out_; }
  void downstreamFlush() override;
  size_t downstreamPending() const override { return out_.size() + conn_.pendingBytes(); }
  bool downstreamKeepAlive() const override { return stream_.keep_alive; }
  void onProxyResponseHead(int status, bool close_after) override;
  void onProxyBodyBytes(uint64_t n) override { stream_.body_sent += n; }
  void onProxyResponseComplete() override;
  void onProxyError(int status, std::string_view message) override;
  void onProxyAbort(bool reset) override;
  void onProxyRequestWritable() override;
  void onProxyTunnel() override;
  void onProxyTunnelEnd() override;

  // fanout::FanoutOwner
  void onFanoutReply(int status, std::string_view json) override;
  void onFanoutError(int status, std::string_view message) override;

  // Why a request head is refused before routing (status 0: it is not).
  struct Refusal {
    int status = 0;
    std::string_view message;
  };
  Refusal checkHead(parsers::MessageHead& head, size_t hosts, parsers::HeaderField*& host_field,
                    bool framing_nominated);
  // Answers the current request with `status` and ends the connection.
  void refuse(int status, std::string_view message);
  bool canFeed() const;
  void processInput();
  void feedParser();
  void flush();
  void pinInputSlice();
  bool outputHigh() const;
  http::ConnectionHeader connectionHeader() const;
  parsers::Next startProxy(parsers::MessageHead& head, const RouteMatch& match, bool expect_continue,
                           bool has_host);
  void startFanoutRequest(const parsers::MessageHead& head, bool expect_continue);
  void startFanout();
  void fanoutAnswered();
  void sendRespond();
  void pumpFill();
  void sendEchoHead(const parsers::MessageHead& head);
  void sendLocal(int status, std::string_view message);
  void sendAdmin(server::AdminPage page);
  // The connection's last answer (a bad request, a head too slow): opens a
  // stream for it when none is, says Connection: close and finishes it.
  void sendLastReply(int status, std::string_view message);
  parsers::Next completeStream();
  void finishStream();
  void onParseError(const parsers::ExecResult& r);
  void updateTimeout(bool progress);
  // A request is done (or became a tunnel): count it, and log it.
  void countRequest();
  void logRequest(uint64_t duration_ns);
  bool peerTrusted() const;
  void onTimeout();
  // The client half-closed and nothing it sent can still complete: ends the
  // connection once what it is owed is written (at once when nothing is).
  void endHalfClosed();
  static void onDelayTimer(uv_timer_t* t);
  static void onDelayTimerClosed(uv_handle_t* h);
  void destroy();

  ClientSlot& slot_;
  server::Worker& worker_;
  server::ListenerRuntime& listener_;
  config::ConfigPtr config_;  // limits: the newest published configuration when this Session was made
  server::WorkerRoutesPtr routes_;  // the newest routes at the current request's start
  loop::EventLoop& loop_;
  net::Connection conn_;
  parsers::Http1Parser parser_;
  buf::BufferChain out_;
  loop::TimeoutNode& timeout_;  // the slot's: it outlives us while parked
  loop::TimeoutNode park_;      // armed while idle: parks after timeouts.park
  std::vector<buf::SliceRef> head_pins_;
  std::string peer_text_;  // formatted once: access log, X-Forwarded-For
  // Bytes a rewritten head points at that are no slice of the request: an
  // origin-form target made from "http://h?q", or the Host given to an
  // HTTP/1.0 request that had none. Valid until the next request's head.
  std::string synth_;
  Stream stream_;
  std::unique_ptr<ProxyStream> proxy_;  // made on the first proxied request, then reused
  // The current fan-out request; a finished one is handed to deferred
  // delete when the next starts or the connection closes.
  std::unique_ptr<fanout::FanoutStream> fanout_;
  std::unique_ptr<fanout::GatewayRequest> fanout_req_;  // filled while the request arrives
  std::unique_ptr<uv_timer_t> delay_timer_;  // respond routes with a delay; freed after its close callback
  bool in_input_ = false;   // processInput is on the stack
  bool ending_ = false;     // last response queued; no more requests parsed
  bool draining_ = false;
  bool conn_closed_ = false;
  bool peer_done_ = false;  // the client half-closed: answer what it sent, then end
  bool peer_gone_ = false;  // a read or write to the client failed (reset, broken pipe)
  bool got_bytes_ = false;  // any byte of the current/next request arrived
  bool raw_body_ = false;   // consumed request bytes are body for the proxy
  bool body_start_pending_ = false;
  bool body_end_pending_ = false;
  bool tunnel_ = false;
  bool handshaking_ = false;  // TLS listener, handshake not yet complete
  bool fanout_starting_ = false;  // FanoutStream::start is on the stack
  bool owns_slot_ = false;  // closed: the destructor frees the slot
  std::unique_ptr<ClientCertHeaders> client_cert_;  // verified client certificate, for upstreams
};

}  // namespace plexgate::proxy
