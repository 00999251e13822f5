#include "engine/server/admin.h"

#include <llhttp.h>
#include <uv.h>

#include <charconv>
#include <cstdio>
#include <ctime>

#include "engine/http/local_reply.h"
#include "engine/server/worker.h"
#include "tls/boringssl_version.h"
#include "tls/tls_session.h"

#ifndef PLEXGATE_VERSION
#define PLEXGATE_VERSION "unknown"
#endif

namespace plexgate::server {
namespace {

constexpr std::string_view kJson = "application/json";
// Prometheus text exposition format 0.0.4.
constexpr std::string_view kPrometheus = "text/plain; version=0.0.4; charset=utf-8";

void appendUnsigned(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

// Seconds with up to 9 decimals, no trailing zeros ("0.00025", "12").
void appendSeconds(std::string& out, uint64_t ns) {
  appendUnsigned(out, ns / 1'000'000'000);
  uint64_t frac = ns % 1'000'000'000;
  if (frac == 0) {
    return;
  }
  char digits[10] = "000000000";
  for (int i = 8; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  size_t len = 9;
  while (digits[len - 1] == '0') {
    --len;
  }
  out += '.';
  out.append(digits, len);
}

// A label value: backslash, double quote and newline escaped.
void appendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

class Exposition {
 public:
  explicit Exposition(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // `labels` is already formatted: `code="2xx"` (or empty).
  void sample(std::string_view name, std::string_view labels, uint64_t value) {
    start(name, labels);
    appendUnsigned(out_, value);
    out_ += '\n';
  }
  void sampleSeconds(std::string_view name, std::string_view labels, uint64_t ns) {
    start(name, labels);
    appendSeconds(out_, ns);
    out_ += '\n';
  }
  void counter(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "counter", help);
    sample(name, {}, value);
  }
  void gauge(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "gauge", help);
    sample(name, {}, value);
  }

 private:
  void start(std::string_view name, std::string_view labels) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
  }
  std::string& out_;
};

std::string label(std::string_view key, std::string_view value) {
  std::string out(key);
  out += "=\"";
  appendLabelValue(out, value);
  out += '"';
  return out;
}

uint64_t unixNs(std::chrono::system_clock::time_point t) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string healthBody(bool draining) {
  return draining ? R"({"status":"DOWN","components":{"gateway":{"status":"DOWN","details":{"draining":true}}}})"
                  : R"({"status":"UP","components":{"gateway":{"status":"UP"}}})";
}

std::string infoBody(const Worker& worker) {
  const WorkerSet* set = worker.set();
  const auto start = set != nullptr ? set->startTime() : std::chrono::system_clock::now();
  const auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - start);
  std::string out = R"({"build":{"name":"plexgate","version":")";
  http::appendJsonEscaped(out, PLEXGATE_VERSION);
  out += R"("},"libraries":{"libuv":")";
  http::appendJsonEscaped(out, uv_version_string());
  out += R"(","llhttp":")";
  out += std::to_string(LLHTTP_VERSION_MAJOR) + "." + std::to_string(LLHTTP_VERSION_MINOR) + "." +
         std::to_string(LLHTTP_VERSION_PATCH);
  out += R"(","tls":")";
  http::appendJsonEscaped(out, tls::boringSslVersion());
  out += R"("},"workers":)";
  appendUnsigned(out, set != nullptr ? set->size() : 1);
  out += R"(,"startTime":")";
  out += isoTime(start);
  out += R"(","uptimeSeconds":)";
  appendUnsigned(out, static_cast<uint64_t>(std::max<int64_t>(0, up.count())));
  out += R"(,"config":")";
  http::appendJsonEscaped(out, worker.routes()->config->source);
  out += "\"}";
  return out;
}

void appendHtml(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

// One table row; cells are escaped.
void appendRow(std::string& out, std::initializer_list<std::string_view> cells, std::string_view tag = "td") {
  out += "<tr>";
  for (std::string_view cell : cells) {
    out += '<';
    out += tag;
    out += '>';
    appendHtml(out, cell);
    out += "</";
    out += tag;
    out += '>';
  }
  out += "</tr>\n";
}

const char* lbName(config::LbPolicy lb) {
  switch (lb) {
    case config::LbPolicy::RoundRobin: return "round_robin";
    case config::LbPolicy::LeastRequest: return "least_request";
    case config::LbPolicy::ConsistentHash: return "consistent_hash";
  }
  return "";
}

// The overview an operator opens in a browser: what runs, what it routes
// to, whether the instances are up, and the live counters. Refreshes
// itself every 5 s; plain server-side HTML, no script.
std::string overviewHtml(const Worker& worker) {
  const WorkerSet* set = worker.set();
  const config::Config& cfg = *worker.routes()->config;
  const CounterTotals t = set != nullptr ? set->totals() : CounterTotals{};
  std::string out;
  out.reserve(8192);
  out += "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">"
         "<title>plexgate admin</title><style>body{font-family:sans-serif;margin:1.5em}"
         "table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;"
         "text-align:left}th{background:#eee}.down{color:#b00;font-weight:bold}</style></head><body>\n";
  out += "<h1>plexgate ";
  appendHtml(out, PLEXGATE_VERSION);
  out += "</h1>\n<p>";
  appendUnsigned(out, set != nullptr ? set->size() : 1);
  out += " workers, started ";
  out += isoTime(set != nullptr ? set->startTime() : std::chrono::system_clock::now());
  out += ", configuration ";
  appendHtml(out, cfg.source.empty() ? std::string_view("(command line)") : std::string_view(cfg.source));
  out += "</p>\n<h2>Counters</h2>\n<table>\n";
  const auto counterRow = [&out](std::string_view name, uint64_t v) {
    const std::string value = std::to_string(v);
    appendRow(out, {name, value});
  };
  counterRow("requests", t.requests);
  counterRow("connections open", t.connections_active);
  counterRow("connections accepted", t.connections_accepted);
  for (size_t i = 0; i < t.responses.size(); ++i) {
    const std::string name = "responses " + std::to_string(i + 1) + "xx";
    counterRow(name, t.responses[i]);
  }
  counterRow("bad requests", t.parse_errors);
  counterRow("upstream attempts", t.upstream_attempts);
  counterRow("upstream new connections", t.upstream_connects);
  uint64_t failures = 0;
  for (uint64_t f : t.upstream_failures) {
    failures += f;
  }
  counterRow("upstream failures", failures);
  counterRow("fan-out requests", t.fanout_requests);
  out += "</table>\n<h2>Listeners</h2>\n<table>\n";
  appendRow(out, {"name", "address", "serves"}, "th");
  for (size_t i = 0; i < cfg.listeners.size(); ++i) {
    const config::Listener& l = cfg.listeners[i];
    std::string serves = std::to_string(l.routes.size()) + " routes";
    if (l.services) {
      serves += ", services";
    }
    if (l.fanout) {
      serves += ", fan-out";
    }
    if (l.admin) {
      serves += ", admin";
    }
    const std::string address = (l.tls_context ? "https://" : "http://") +
                                (set != nullptr && i < set->addresses().size() ? set->addresses()[i].toString()
                                                                              : l.address);
    appendRow(out, {l.name, address, serves});
  }
  out += "</table>\n<h2>Clusters and instances</h2>\n<table>\n";
  appendRow(out, {"cluster", "instance", "load balancing", "state"}, "th");
  for (const proxy::ClusterEntry& c : worker.routes()->directory->clusters()) {
    for (size_t i = 0; i < c.endpoints.size(); ++i) {
      const proxy::EndpointEntry& ep = c.endpoints[i];
      const bool up = ep.address.has_value() && ep.healthy->load(std::memory_order_relaxed);
      out += "<tr><td>";
      appendHtml(out, c.config->name);
      out += "</td><td>";
      appendHtml(out, c.config->endpoints[i].url);
      out += "</td><td>";
      out += lbName(c.config->lb);
      out += up ? "</td><td>UP</td></tr>\n"
                : (ep.address ? "</td><td class=\"down\">DOWN</td></tr>\n"
                              : "</td><td class=\"down\">DOWN (name did not resolve)</td></tr>\n");
    }
  }
  out += "</table>\n";
  if (!cfg.services.empty()) {
    out += "<h2>Services</h2>\n<table>\n";
    appendRow(out, {"serviceId", "title", "routes", "instances"}, "th");
    for (const config::Service& svc : cfg.services) {
      std::string routes;
      for (const config::ServiceRoute& r : svc.routes) {
        routes += (routes.empty() ? "/" : ", /") + svc.service_id + "/" + r.gateway_url + " -> " +
                  r.service_relative_url;
      }
      std::string instances;
      for (const std::string& u : svc.instance_base_urls) {
        instances += (instances.empty() ? "" : ", ") + u;
      }
      appendRow(out, {svc.service_id, svc.title, routes, instances});
    }
    out += "</table>\n";
  }
  if (!cfg.systems.empty()) {
    out += "<h2>Systems</h2>\n<table>\n";
    appendRow(out, {"name", "system", "sysplex", "url", "via proxy"}, "th");
    for (const config::System& sys : cfg.systems) {
      appendRow(out, {sys.name, sys.system_name, sys.sysplex, sys.url, sys.http_proxy});
    }
    out += "</table>\n";
  }
  out += "<p><a href=\"/metrics\">/metrics</a> &middot; <a href=\"/application/health\">/application/health</a>"
         " &middot; <a href=\"/application/info\">/application/info</a></p>\n</body></html>\n";
  return out;
}

}  // namespace

AdminPage adminPageFor(std::string_view path) {
  if (path == "/metrics") {
    return AdminPage::Metrics;
  }
  if (path == "/application/health") {
    return AdminPage::Health;
  }
  if (path == "/application/info") {
    return AdminPage::Info;
  }
  if (path == "/admin" || path == "/admin/") {
    return AdminPage::Overview;
  }
  return AdminPage::None;
}

std::string renderMetrics(const MetricsInput& in) {
  const CounterTotals& t = *in.totals;
  std::string out;
  out.reserve(8192);
  Exposition e(out);

  e.family("plexgate_build_info", "gauge", "The running build; the value is always 1.");
  e.sample("plexgate_build_info", label("version", PLEXGATE_VERSION), 1);
  e.family("plexgate_start_time_seconds", "gauge", "When the process started, in seconds since the Unix epoch.");
  e.sampleSeconds("plexgate_start_time_seconds", {}, unixNs(in.start_time));
  e.gauge("plexgate_workers", "Worker loops serving the listeners.", in.workers);
  if (in.reloads != nullptr) {
    e.family("plexgate_config_reloads_total", "counter", "Configuration reloads (SIGHUP), by result.");
    e.sample("plexgate_config_reloads_total", R"(result="applied")",
             in.reloads->applied.load(std::memory_order_relaxed));
    e.sample("plexgate_config_reloads_total", R"(result="refused")",
             in.reloads->refused.load(std::memory_order_relaxed));
  }

  e.counter("plexgate_connections_accepted_total", "Client connections accepted.", t.connections_accepted);
  e.gauge("plexgate_connections_active", "Client connections open now.", t.connections_active);
  e.gauge("plexgate_connections_parked", "Open client connections idle without a session (of the active).",
          t.connections_parked);
  e.counter("plexgate_requests_total", "Client requests finished (answered, or turned into a tunnel).",
            t.requests);
  e.family("plexgate_responses_total", "counter", "Responses to clients, by status class.");
  for (size_t i = 0; i < t.responses.size(); ++i) {
    const char code[] = {static_cast<char>('1' + i), 'x', 'x', '\0'};
    e.sample("plexgate_responses_total", label("code", code), t.responses[i]);
  }
  e.family("plexgate_request_duration_seconds", "histogram",
           "From a request's first byte to its response's last byte queued for the client.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < t.duration.size(); ++i) {
    cumulative += t.duration[i];
    std::string le = "le=\"";
    if (i < kDurationBoundsNs.size()) {
      appendSeconds(le, kDurationBoundsNs[i]);
    } else {
      le += "+Inf";
    }
    le += '"';
    e.sample("plexgate_request_duration_seconds_bucket", le, cumulative);
  }
  e.sampleSeconds("plexgate_request_duration_seconds_sum", {}, t.duration_ns);
  e.sample("plexgate_request_duration_seconds_count", {}, cumulative);
  e.counter("plexgate_bad_requests_total", "Requests refused as malformed, ambiguous or over a limit.",
            t.parse_errors);
  e.counter("plexgate_client_timeouts_total", "Client connections closed by a header, idle or TLS timeout.",
            t.timeouts);

  e.counter("plexgate_tls_handshakes_total", "Completed TLS handshakes with clients.", t.tls_handshakes);
  e.counter("plexgate_tls_resumed_total", "Of the completed handshakes, those resumed from a ticket.",
            t.tls_resumed);
  e.family("plexgate_tls_failures_total", "counter", "Failed TLS handshakes with clients, by reason.");
  for (size_t i = 1; i < t.tls_failures.size(); ++i) {  // 0 is Failure::None
    e.sample("plexgate_tls_failures_total", label("reason", tls::failureName(static_cast<tls::Failure>(i))),
             t.tls_failures[i]);
  }

  e.counter("plexgate_upstream_attempts_total", "Requests sent (or tried) upstream, retries included.",
            t.upstream_attempts);
  e.counter("plexgate_upstream_connects_total",
            "Of the attempts, those that opened a new upstream connection (the rest reused a pooled one).",
            t.upstream_connects);
  e.counter("plexgate_upstream_retries_total", "Failed upstream attempts that were tried again.",
            t.upstream_retries);
  e.family("plexgate_upstream_failures_total", "counter", "Failed upstream attempts, by reason.");
  for (size_t i = 0; i < t.upstream_failures.size(); ++i) {
    e.sample("plexgate_upstream_failures_total",
             label("reason", proxy::upstreamFailureName(static_cast<proxy::UpstreamFailure>(i))),
             t.upstream_failures[i]);
  }
  if (in.upstreams != nullptr) {
    e.family("plexgate_upstream_healthy", "gauge",
             "1 while an upstream endpoint may be picked: its name resolved and no active health check took it out.");
    for (const proxy::ClusterEntry& c : in.upstreams->clusters()) {
      for (size_t i = 0; i < c.endpoints.size(); ++i) {
        const proxy::EndpointEntry& ep = c.endpoints[i];
        const bool healthy = ep.address.has_value() && ep.healthy->load(std::memory_order_relaxed);
        e.sample("plexgate_upstream_healthy",
                 label("cluster", c.config->name) + "," + label("endpoint", c.config->endpoints[i].url),
                 healthy ? 1 : 0);
      }
    }
  }

  e.counter("plexgate_fanout_requests_total", "Multisystem fan-out requests that called their systems.",
            t.fanout_requests);
  e.counter("plexgate_fanout_system_calls_total", "Sub-requests the fan-outs started.", t.fanout_system_calls);
  e.family("plexgate_fanout_results_total", "counter", "Finished fan-out sub-requests, by return code.");
  for (size_t i = 0; i < t.fanout_rc.size(); ++i) {
    e.sample("plexgate_fanout_results_total",
             label("rc", parsers::fanoutRcName(static_cast<parsers::FanoutRc>(i))), t.fanout_rc[i]);
  }
  return out;
}

AdminReply adminReply(AdminPage page, const Worker& worker) {
  AdminReply r;
  switch (page) {
    case AdminPage::Health:
      r.status = worker.draining() ? 503 : 200;
      r.content_type = kJson;
      r.body = healthBody(worker.draining());
      break;
    case AdminPage::Info:
      r.content_type = kJson;
      r.body = infoBody(worker);
      break;
    case AdminPage::Metrics: {
      const WorkerSet* set = worker.set();
      MetricsInput in;
      CounterTotals totals;
      if (set != nullptr) {
        totals = set->totals();
        in.reloads = &set->reloads();
        in.workers = set->size();
        in.start_time = set->startTime();
      } else {
        in.workers = 1;
        in.start_time = std::chrono::system_clock::now();
      }
      in.totals = &totals;
      in.upstreams = worker.routes()->directory.get();
      r.content_type = kPrometheus;
      r.body = renderMetrics(in);
      break;
    }
    case AdminPage::Overview:
      r.content_type = "text/html; charset=utf-8";
      r.body = overviewHtml(worker);
      break;
    case AdminPage::None:
      r.status = 404;
      break;
  }
  return r;
}

}  // namespace plexgate::server
