#pragma once
// A stand-in Kubernetes API server for the Kubernetes backend's tests: HTTPS
// on 127.0.0.1:0 with a CA and server certificate generated at start (real
// OpenSSL keys), a bearer token check, and Deployments and ReplicaSets kept
// in memory. It implements exactly what opsgate calls (GET, strategic merge
// of annotations and container images, merge patch on /scale, JSON Patch,
// ReplicaSets listed by selector, a new ReplicaSet and revision per template
// change, status progressing over a few polls, Status errors) and honours
// dryRun=All by answering without storing. Runs on its own thread; every
// method may be called from the test's thread. No Beast in this header.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace opsgate::test {

// A CA and a server certificate for IP 127.0.0.1, made with the openssl CLI.
struct K8sPki {
  std::string ca_file;
  std::string ca_key_file;
  std::string cert_file;
  std::string key_file;
};
K8sPki make_k8s_pki(const std::string& dir, const std::string& prefix = "");

struct K8sRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;
  std::string query;   // raw, without '?'
  std::string content_type;
  std::string body;
  std::string authorization;
  nlohmann::json to_json() const;
};

class K8sStandIn {
 public:
  K8sStandIn(K8sPki pki, std::string token);
  ~K8sStandIn();
  K8sStandIn(const K8sStandIn&) = delete;
  K8sStandIn& operator=(const K8sStandIn&) = delete;

  std::string url() const;  // https://127.0.0.1:PORT
  int port() const;

  void set_token(std::string token);
  // A Deployment (revision 1, rolled out) with its ReplicaSet; labels app=<name>.
  void add_deployment(const std::string& ns, const std::string& name, const std::string& container,
                      const std::string& image, int replicas);
  nlohmann::json deployment(const std::string& ns, const std::string& name) const;
  nlohmann::json replica_sets(const std::string& ns) const;
  void set_paused(const std::string& ns, const std::string& name, bool paused);
  // Changes a container's image behind opsgate's back (as another operator would).
  void set_image(const std::string& ns, const std::string& name, const std::string& container,
                 const std::string& image);
  // Status converges after this many GETs of the Deployment (default 3).
  void set_rollout_polls(int polls);
  // The next template change ends in ProgressDeadlineExceeded.
  void fail_next_rollout(const std::string& message);
  // The next `times` requests with this method whose path contains `path_part`
  // answer with a Status error.
  void fail_next(const std::string& method, const std::string& path_part, int code, const std::string& reason,
                 const std::string& message, int times = 1);

  // The next request with this method whose path contains `path_part` (a
  // dry run excepted) is recorded and then held, unanswered and not applied,
  // until release_held() — a window that stays open as long as a test needs
  // (e.g. to kill the process that sent it).
  void hold_next(const std::string& method, const std::string& path_part);
  int held() const;  // requests held so far (released or not)
  void release_held();

  std::vector<K8sRequest> requests() const;
  std::vector<K8sRequest> writes() const;  // PATCH requests only
  void clear_requests();
  int handshake_failures() const;
  // Appends every request as a JSON line to this file (for the standalone executable).
  void log_to(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsgate::test
