// The stand-in Kubernetes API server (see the header). Test-only; the one
// Beast + asio::ssl TU of the tests.

#include "tests/support/k8s_stand_in.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace opsgate::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using nlohmann::json;

namespace {

std::string run_or_throw(const std::string& command) {
  const std::string bounded = "timeout 60 " + command + " 2>&1";
  FILE* pipe = ::popen(bounded.c_str(), "r");
  if (pipe == nullptr) {
    throw std::runtime_error("cannot run " + command);
  }
  std::string out;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    out.append(buffer, n);
  }
  if (::pclose(pipe) != 0) {
    throw std::runtime_error("failed: " + command + "\n" + out);
  }
  return out;
}

std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    out[url_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::vector<std::string> split(const std::string& path, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = path.find(sep, start);
    parts.push_back(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return parts;
}

json status_error(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"},
          {"message", message}, {"reason", reason},  {"code", code}};
}

// Strategic merge patch as far as opsgate uses it: maps merge, null deletes,
// `containers` merge on name, everything else replaces.
void strategic_merge(json& target, const json& patch) {
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target.erase(key);
      continue;
    }
    if (key == "containers" && value.is_array() && target.contains(key) && target[key].is_array()) {
      for (const auto& item : value) {
        if (!item.is_object() || !item.contains("name")) {
          throw std::invalid_argument("a container in the patch has no name");
        }
        bool merged = false;
        for (auto& existing : target[key]) {
          if (existing.value("name", "") == item["name"]) {
            strategic_merge(existing, item);
            merged = true;
          }
        }
        if (!merged) {
          target[key].push_back(item);
        }
      }
      continue;
    }
    if (value.is_object() && target.contains(key) && target[key].is_object()) {
      strategic_merge(target[key], value);
      continue;
    }
    target[key] = value;
  }
}

json without_hash(json pod_template) {
  if (pod_template.contains("metadata") && pod_template["metadata"].contains("labels")) {
    pod_template["metadata"]["labels"].erase("pod-template-hash");
    if (pod_template["metadata"]["labels"].empty()) {
      pod_template["metadata"].erase("labels");
    }
  }
  return pod_template;
}

std::string template_hash(const json& pod_template) {
  char text[32];
  std::snprintf(text, sizeof text, "%08zx", std::hash<std::string>{}(without_hash(pod_template).dump()) & 0xffffffffu);
  return text;
}

struct Failure {
  std::string method;
  std::string path_part;
  int code = 500;
  std::string reason;
  std::string message;
  int remaining = 1;
};

// A deployment's rollout as the controller would advance it, one step per GET.
struct Progress {
  int steps_left = 0;
  bool fail = false;
  std::string fail_message;
};

using Response = http::response<http::string_body>;

}  // namespace

json K8sRequest::to_json() const {
  return {{"method", method}, {"target", target},      {"path", path},
          {"query", query},   {"content_type", content_type}, {"body", body}};
}

K8sPki make_k8s_pki(const std::string& dir, const std::string& prefix) {
  K8sPki pki;
  pki.ca_file = dir + "/" + prefix + "ca.crt";
  pki.ca_key_file = dir + "/" + prefix + "ca.key";
  pki.cert_file = dir + "/" + prefix + "server.crt";
  pki.key_file = dir + "/" + prefix + "server.key";
  const std::string csr = dir + "/" + prefix + "server.csr";
  const std::string ext = dir + "/" + prefix + "server.ext";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n";
  const std::string curve = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  run_or_throw("openssl req -x509 " + curve + " -keyout " + pki.ca_key_file + " -out " + pki.ca_file +
               " -days 2 -subj /CN=opsgate-test-ca");
  run_or_throw("openssl req " + curve + " -keyout " + pki.key_file + " -out " + csr + " -subj /CN=127.0.0.1");
  run_or_throw("openssl x509 -req -in " + csr + " -CA " + pki.ca_file + " -CAkey " + pki.ca_key_file +
               " -CAcreateserial -out " + pki.cert_file + " -days 2 -extfile " + ext);
  return pki;
}

struct K8sStandIn::Impl {
  // Declared before the io_context: sessions (destroyed with it) use them.
  mutable std::mutex mutex;
  std::string token;
  std::map<std::string, json> deployments;       // ns/name -> Deployment
  std::map<std::string, std::vector<json>> sets;  // ns -> ReplicaSets
  std::map<std::string, Progress> progress;      // ns/name
  int rollout_polls = 3;
  std::string fail_next_rollout;
  std::vector<Failure> failures;
  std::optional<std::pair<std::string, std::string>> hold;  // method, path part
  int held = 0;
  bool released = false;
  std::vector<K8sRequest> seen;
  std::atomic<int> handshake_failures{0};
  std::int64_t resource_version = 1000;
  std::string log_path;

  ssl::context tls{ssl::context::tls_server};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::shared_ptr<asio::steady_timer>> held_timers;  // io thread only; after io: timers die first
  std::thread thread;
  int port = 0;

  // --- the model (called with the mutex held) ---

  std::string next_version() { return std::to_string(++resource_version); }

  void apply_progress(json& d, Progress& p) {
    const std::int64_t desired = d["spec"].value("replicas", std::int64_t{1});
    auto& st = d["status"];
    if (p.steps_left <= 0) {
      return;
    }
    --p.steps_left;
    st["observedGeneration"] = d["metadata"]["generation"];
    if (p.fail) {
      st["updatedReplicas"] = std::min<std::int64_t>(desired, 1);
      st["availableReplicas"] = 0;
      st["replicas"] = desired;
      if (p.steps_left == 0) {
        st["conditions"] = json::array(
            {{{"type", "Available"}, {"status", "False"}, {"reason", "MinimumReplicasUnavailable"}},
             {{"type", "Progressing"}, {"status", "False"}, {"reason", "ProgressDeadlineExceeded"},
              {"message", p.fail_message}}});
      }
      return;
    }
    if (p.steps_left > 0) {
      const std::int64_t updated = std::min<std::int64_t>(desired, rollout_polls - p.steps_left);
      st["updatedReplicas"] = updated;
      st["availableReplicas"] = std::max<std::int64_t>(0, updated - 1);
      st["replicas"] = desired;
      return;
    }
    st["updatedReplicas"] = desired;
    st["availableReplicas"] = desired;
    st["readyReplicas"] = desired;
    st["replicas"] = desired;
    st["conditions"] = json::array(
        {{{"type", "Available"}, {"status", "True"}, {"reason", "MinimumReplicasAvailable"}},
         {{"type", "Progressing"}, {"status", "True"}, {"reason", "NewReplicaSetAvailable"},
          {"message", "ReplicaSet has successfully progressed."}}});
  }

  void start_rollout(const std::string& key, json& d) {
    Progress p;
    p.steps_left = std::max(1, rollout_polls);
    if (!fail_next_rollout.empty()) {
      p.fail = true;
      p.fail_message = fail_next_rollout;
      p.steps_left = 2;
      fail_next_rollout.clear();
    }
    d["status"]["observedGeneration"] = d["metadata"]["generation"].get<std::int64_t>() - 1;
    progress[key] = p;
  }

  // What the deployment controller does when the template changed: reuse the
  // ReplicaSet with an equal template or make a new one, at revision max+1.
  void new_revision(const std::string& ns, json& d) {
    auto& list = sets[ns];
    std::int64_t max_revision = 0;
    const std::string uid = d["metadata"]["uid"];
    for (const auto& rs : list) {
      if (rs["metadata"]["ownerReferences"][0]["uid"] == uid) {
        max_revision = std::max<std::int64_t>(
            max_revision, std::stoll(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"].get<std::string>()));
      }
    }
    const std::string revision = std::to_string(max_revision + 1);
    const json wanted = without_hash(d["spec"]["template"]);
    for (auto& rs : list) {
      if (rs["metadata"]["ownerReferences"][0]["uid"] == uid && without_hash(rs["spec"]["template"]) == wanted) {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = revision;
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = revision;
        return;
      }
    }
    list.push_back(make_replica_set(d, revision));
    d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = revision;
  }

  json make_replica_set(const json& d, const std::string& revision) {
    json pod_template = d["spec"]["template"];
    const std::string hash = template_hash(pod_template);
    pod_template["metadata"]["labels"]["pod-template-hash"] = hash;
    json labels = pod_template["metadata"]["labels"];
    json annotations = {{"deployment.kubernetes.io/revision", revision},
                        {"deployment.kubernetes.io/desired-replicas", std::to_string(d["spec"].value("replicas", 1))},
                        {"deployment.kubernetes.io/max-replicas", std::to_string(d["spec"].value("replicas", 1) + 1)}};
    json selector = d["spec"]["selector"];
    selector["matchLabels"]["pod-template-hash"] = hash;
    return {{"apiVersion", "apps/v1"},
            {"kind", "ReplicaSet"},
            {"metadata",
             {{"name", d["metadata"]["name"].get<std::string>() + "-" + hash},
              {"namespace", d["metadata"]["namespace"]},
              {"uid", "rs-" + hash},
              {"labels", labels},
              {"annotations", annotations},
              {"ownerReferences",
               json::array({{{"apiVersion", "apps/v1"},
                             {"kind", "Deployment"},
                             {"name", d["metadata"]["name"]},
                             {"uid", d["metadata"]["uid"]},
                             {"controller", true},
                             {"blockOwnerDeletion", true}}})}}},
            {"spec", {{"replicas", d["spec"]["replicas"]}, {"selector", selector}, {"template", pod_template}}}};
  }

  Response reply(int code, const json& body) {
    Response res{static_cast<http::status>(code), 11};
    res.set(http::field::content_type, "application/json");
    res.body() = body.dump();
    res.prepare_payload();
    return res;
  }

  Response fail(int code, const std::string& reason, const std::string& message) {
    return reply(code, status_error(code, reason, message));
  }

  json scale_of(const json& d) {
    std::string selector;
    for (const auto& [k, v] : d["spec"]["selector"]["matchLabels"].items()) {
      selector += (selector.empty() ? "" : ",") + k + "=" + v.get<std::string>();
    }
    return {{"kind", "Scale"},
            {"apiVersion", "autoscaling/v1"},
            {"metadata",
             {{"name", d["metadata"]["name"]},
              {"namespace", d["metadata"]["namespace"]},
              {"resourceVersion", d["metadata"]["resourceVersion"]}}},
            {"spec", {{"replicas", d["spec"]["replicas"]}}},
            {"status", {{"replicas", d["status"].value("replicas", 0)}, {"selector", selector}}}};
  }

  Response handle(const K8sRequest& r) {
    if (r.authorization != "Bearer " + token) {
      return fail(401, "Unauthorized", "Unauthorized");
    }
    for (auto& f : failures) {
      if (f.remaining > 0 && f.method == r.method && r.path.find(f.path_part) != std::string::npos) {
        --f.remaining;
        return fail(f.code, f.reason, f.message);
      }
    }
    const auto query = parse_query(r.query);
    const bool dry_run = query.count("dryRun") != 0;
    if (query.count("dryRun") != 0 && query.at("dryRun") != "All") {
      return fail(400, "BadRequest", "dryRun must be All");
    }
    const auto parts = split(r.path, '/');
    // "", apis, apps, v1, namespaces, NS, deployments|replicasets, [NAME, [scale]]
    if (parts.size() < 7 || parts[1] != "apis" || parts[2] != "apps" || parts[3] != "v1" || parts[4] != "namespaces") {
      return fail(404, "NotFound", "the server could not find the requested resource");
    }
    const std::string ns = parts[5];
    if (parts[6] == "replicasets" && parts.size() == 7 && r.method == "GET") {
      std::map<std::string, std::string> wanted;
      if (query.count("labelSelector") != 0) {
        for (const auto& pair : split(query.at("labelSelector"), ',')) {
          const auto eq = pair.find('=');
          wanted[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
        }
      }
      json items = json::array();
      for (const auto& rs : sets[ns]) {
        bool match = true;
        for (const auto& [k, v] : wanted) {
          match = match && rs["metadata"]["labels"].value(k, "\x01") == v;
        }
        if (match) {
          items.push_back(rs);
        }
      }
      return reply(200, {{"kind", "ReplicaSetList"},
                         {"apiVersion", "apps/v1"},
                         {"metadata", {{"resourceVersion", std::to_string(resource_version)}}},
                         {"items", items}});
    }
    if (parts[6] != "deployments" || parts.size() < 8 || parts.size() > 9) {
      return fail(404, "NotFound", "the server could not find the requested resource");
    }
    const std::string name = parts[7];
    const std::string key = ns + "/" + name;
    const auto found = deployments.find(key);
    if (found == deployments.end()) {
      return fail(404, "NotFound", "deployments.apps \"" + name + "\" not found");
    }
    json& live = found->second;
    const bool scale = parts.size() == 9;
    if (scale && parts[8] != "scale") {
      return fail(404, "NotFound", "the server could not find the requested resource");
    }
    if (r.method == "GET") {
      if (!scale) {
        apply_progress(live, progress[key]);
      }
      return reply(200, scale ? scale_of(live) : live);
    }
    if (r.method != "PATCH") {
      return fail(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    }
    const json patch = json::parse(r.body, nullptr, false);
    if (patch.is_discarded()) {
      return fail(400, "BadRequest", "the body of the request was in an unknown format");
    }
    json next = live;
    try {
      if (scale) {
        if (r.content_type != "application/merge-patch+json") {
          return fail(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                                                   "media types include: application/merge-patch+json");
        }
        json s = scale_of(live);
        s.merge_patch(patch);
        if (!s["spec"]["replicas"].is_number_integer() || s["spec"]["replicas"].get<std::int64_t>() < 0) {
          return fail(422, "Invalid", "Scale.autoscaling \"" + name + "\" is invalid: spec.replicas: Invalid value");
        }
        next["spec"]["replicas"] = s["spec"]["replicas"];
      } else if (r.content_type == "application/strategic-merge-patch+json") {
        if (!patch.is_object()) {
          return fail(400, "BadRequest", "a strategic merge patch must be an object");
        }
        strategic_merge(next, patch);
      } else if (r.content_type == "application/merge-patch+json") {
        next.merge_patch(patch);
      } else if (r.content_type == "application/json-patch+json") {
        next = live.patch(patch);
      } else {
        return fail(415, "UnsupportedMediaType", "the body of the request was in an unknown format");
      }
    } catch (const std::exception& e) {
      return fail(422, "Invalid", std::string("Deployment.apps \"") + name + "\" is invalid: " + e.what());
    }
    for (const auto& c : next["spec"]["template"]["spec"]["containers"]) {
      if (c.value("image", "").empty()) {
        return fail(422, "Invalid", "Deployment.apps \"" + name + "\" is invalid: spec.template.spec.containers: "
                                    "Required value: image");
      }
    }
    // A resourceVersion in the patch is a precondition, as in the real API
    // server's optimistic concurrency.
    if (!scale && patch.is_object() && patch.contains("metadata") && patch["metadata"].is_object() &&
        patch["metadata"].contains("resourceVersion") &&
        patch["metadata"]["resourceVersion"] != live["metadata"]["resourceVersion"]) {
      return fail(409, "Conflict", "Operation cannot be fulfilled on deployments.apps \"" + name +
                                       "\": the object has been modified; please apply your changes to the latest "
                                       "version and try again");
    }
    next["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"];
    if (next == live) {
      // A patch that changes nothing is not written: resourceVersion and
      // generation stay (what kubectl calls "no change").
      return reply(200, scale ? scale_of(live) : live);
    }
    const bool template_changed = next["spec"]["template"] != live["spec"]["template"];
    const bool spec_changed = next["spec"] != live["spec"];
    if (spec_changed) {
      next["metadata"]["generation"] = live["metadata"]["generation"].get<std::int64_t>() + 1;
    }
    next["metadata"]["resourceVersion"] = dry_run ? live["metadata"]["resourceVersion"].get<std::string>()
                                                  : next_version();
    if (dry_run) {
      return reply(200, scale ? scale_of(next) : next);
    }
    live = next;
    if (template_changed && !live["spec"].value("paused", false)) {
      new_revision(ns, live);
    }
    if (spec_changed && live["spec"].value("paused", false)) {
      // The controller observes a paused Deployment's change but rolls
      // nothing out: no new ReplicaSet, no pod updated.
      live["status"]["observedGeneration"] = live["metadata"]["generation"];
      live["status"]["updatedReplicas"] = 0;
      live["status"]["conditions"] = json::array(
          {{{"type", "Available"}, {"status", "True"}, {"reason", "MinimumReplicasAvailable"}},
           {{"type", "Progressing"}, {"status", "Unknown"}, {"reason", "DeploymentPaused"},
            {"message", "Deployment is paused"}}});
      progress.erase(key);
    } else if (spec_changed) {
      start_rollout(key, live);
    }
    return reply(200, scale ? scale_of(live) : live);
  }

  // --- the server ---

  asio::awaitable<void> session(tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (hec) {
      ++handshake_failures;
      co_return;
    }
    beast::flat_buffer buffer;
    for (int i = 0; i < 1000; ++i) {
      http::request<http::string_body> req;
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
      auto [rec, rn] = co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
      (void)rn;
      if (rec) {
        break;
      }
      K8sRequest r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      const auto q = r.target.find('?');
      r.path = r.target.substr(0, q);
      r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
      r.content_type = std::string(req[http::field::content_type]);
      r.authorization = std::string(req[http::field::authorization]);
      r.body = req.body();
      bool hold_this = false;
      {
        std::lock_guard lock(mutex);
        seen.push_back(r);
        if (!log_path.empty()) {
          std::ofstream(log_path, std::ios::app) << r.to_json().dump() << "\n";
        }
        if (hold && hold->first == r.method && r.path.find(hold->second) != std::string::npos &&
            r.query.find("dryRun") == std::string::npos) {
          hold.reset();
          hold_this = !released;
          ++held;
        }
      }
      if (hold_this) {
        // Unanswered until release_held() cancels the timer (or the stand-in stops).
        auto timer = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
        held_timers.push_back(timer);
        auto [hold_ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
        (void)hold_ec;
      }
      Response res;
      {
        std::lock_guard lock(mutex);
        res = handle(r);
      }
      res.keep_alive(req.keep_alive());
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      (void)wn;
      if (wec || !req.keep_alive()) {
        break;
      }
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    auto [sec] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    (void)sec;
  }

  asio::awaitable<void> listen() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

K8sStandIn::K8sStandIn(K8sPki pki, std::string token) : impl_(std::make_unique<Impl>()) {
  impl_->token = std::move(token);
  impl_->tls.use_certificate_chain_file(pki.cert_file);
  impl_->tls.use_private_key_file(pki.key_file, ssl::context::pem);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->listen(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

K8sStandIn::~K8sStandIn() {
  impl_->io.stop();
  impl_->thread.join();
}

std::string K8sStandIn::url() const { return "https://127.0.0.1:" + std::to_string(impl_->port); }
int K8sStandIn::port() const { return impl_->port; }

void K8sStandIn::set_token(std::string token) {
  std::lock_guard lock(impl_->mutex);
  impl_->token = std::move(token);
}

void K8sStandIn::add_deployment(const std::string& ns, const std::string& name, const std::string& container,
                                const std::string& image, int replicas) {
  std::lock_guard lock(impl_->mutex);
  json labels = {{"app", name}};
  json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata",
             {{"name", name},
              {"namespace", ns},
              {"uid", "uid-" + ns + "-" + name},
              {"generation", 1},
              {"resourceVersion", impl_->next_version()},
              {"labels", labels},
              {"annotations", {{"deployment.kubernetes.io/revision", "1"}}}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", labels}}},
              {"progressDeadlineSeconds", 600},
              {"template",
               {{"metadata", {{"labels", labels}}},
                {"spec", {{"containers", json::array({{{"name", container}, {"image", image}}})}}}}}}},
            {"status",
             {{"observedGeneration", 1},
              {"replicas", replicas},
              {"updatedReplicas", replicas},
              {"readyReplicas", replicas},
              {"availableReplicas", replicas},
              {"conditions",
               json::array({{{"type", "Progressing"}, {"status", "True"}, {"reason", "NewReplicaSetAvailable"}}})}}}};
  impl_->sets[ns].push_back(impl_->make_replica_set(d, "1"));
  impl_->deployments[ns + "/" + name] = d;
}

json K8sStandIn::deployment(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->deployments.find(ns + "/" + name);
  return it == impl_->deployments.end() ? json() : it->second;
}

json K8sStandIn::replica_sets(const std::string& ns) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->sets.find(ns);
  return it == impl_->sets.end() ? json::array() : json(it->second);
}

void K8sStandIn::set_paused(const std::string& ns, const std::string& name, bool paused) {
  std::lock_guard lock(impl_->mutex);
  impl_->deployments.at(ns + "/" + name)["spec"]["paused"] = paused;
}

void K8sStandIn::set_image(const std::string& ns, const std::string& name, const std::string& container,
                           const std::string& image) {
  std::lock_guard lock(impl_->mutex);
  json& d = impl_->deployments.at(ns + "/" + name);
  for (auto& c : d["spec"]["template"]["spec"]["containers"]) {
    if (c["name"] == container) {
      c["image"] = image;
    }
  }
  d["metadata"]["generation"] = d["metadata"]["generation"].get<std::int64_t>() + 1;
  impl_->new_revision(ns, d);
  impl_->start_rollout(ns + "/" + name, d);
}

void K8sStandIn::set_rollout_polls(int polls) {
  std::lock_guard lock(impl_->mutex);
  impl_->rollout_polls = polls;
}

void K8sStandIn::fail_next_rollout(const std::string& message) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_next_rollout = message;
}

void K8sStandIn::fail_next(const std::string& method, const std::string& path_part, int code,
                           const std::string& reason, const std::string& message, int times) {
  std::lock_guard lock(impl_->mutex);
  impl_->failures.push_back({method, path_part, code, reason, message, times});
}

void K8sStandIn::hold_next(const std::string& method, const std::string& path_part) {
  std::lock_guard lock(impl_->mutex);
  impl_->hold = std::make_pair(method, path_part);
  impl_->released = false;
}

int K8sStandIn::held() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->held;
}

void K8sStandIn::release_held() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->released = true;
  }
  asio::post(impl_->io, [impl = impl_.get()] {
    for (auto& timer : impl->held_timers) {
      timer->cancel();
    }
    impl->held_timers.clear();
  });
}

std::vector<K8sRequest> K8sStandIn::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen;
}

std::vector<K8sRequest> K8sStandIn::writes() const {
  std::vector<K8sRequest> out;
  for (auto& r : requests()) {
    if (r.method == "PATCH") {
      out.push_back(r);
    }
  }
  return out;
}

void K8sStandIn::clear_requests() {
  std::lock_guard lock(impl_->mutex);
  impl_->seen.clear();
}

int K8sStandIn::handshake_failures() const { return impl_->handshake_failures.load(); }

void K8sStandIn::log_to(const std::string& path) {
  std::lock_guard lock(impl_->mutex);
  impl_->log_path = path;
}

}  // namespace opsgate::test
