// deploy/ must agree with plexgate: the ConfigMap's file loads, the probes
// ask the admin listener for its health page on the port it listens on, the
// Service targets the gateway listener, the grace periods outlast the
// drain, and the systemd unit checks and runs the same file.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/config/config_loader.h"

namespace plexgate {
namespace {

const std::string kDeploy = std::string(PLEXGATE_SOURCE_DIR) + "/deploy/";

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

YAML::Node manifest(const std::string& name) { return YAML::LoadFile(kDeploy + "kubernetes/" + name); }

// The port of the container port named `name`, or 0.
int containerPort(const YAML::Node& container, const std::string& name) {
  for (const auto& p : container["ports"]) {
    if (p["name"].as<std::string>() == name) {
      return p["containerPort"].as<int>();
    }
  }
  return 0;
}

TEST(DeployManifests, ConfigMapFileLoadsAndMatchesTheDeploymentAndService) {
  const YAML::Node cm = manifest("configmap.yaml");
  const auto loaded = config::loadString(cm["data"]["plexgate.yaml"].as<std::string>(), "configmap plexgate.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.error->toString();
  const config::Config& cfg = *loaded.config;
  int admin_port = 0;
  int gateway_port = 0;
  for (const config::Listener& l : cfg.listeners) {
    EXPECT_EQ(l.host, "0.0.0.0") << l.name << ": the kubelet probes the pod address";
    if (l.admin) {
      admin_port = l.port;
    } else if (l.name == "gateway") {
      gateway_port = l.port;
    }
  }
  ASSERT_NE(admin_port, 0) << "no admin listener for the probes";
  ASSERT_NE(gateway_port, 0);

  const YAML::Node deployment = manifest("deployment.yaml");
  const YAML::Node pod = deployment["spec"]["template"]["spec"];
  const YAML::Node container = pod["containers"][0];
  EXPECT_EQ(containerPort(container, "admin"), admin_port);
  EXPECT_EQ(containerPort(container, "gateway"), gateway_port);
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    EXPECT_EQ(container[probe]["httpGet"]["path"].as<std::string>(), "/application/health") << probe;
    EXPECT_EQ(container[probe]["httpGet"]["port"].as<std::string>(), "admin") << probe;
  }
  const auto args = container["args"].as<std::vector<std::string>>();
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0], "-c");
  bool mounted = false;
  for (const auto& m : container["volumeMounts"]) {
    if (m["name"].as<std::string>() == "config") {
      mounted = args[1] == m["mountPath"].as<std::string>() + "/plexgate.yaml";
    }
  }
  EXPECT_TRUE(mounted) << "-c " << args[1] << " is not the mounted ConfigMap's file";
  // SIGTERM comes after the preStop pause; the drain must end before the kill.
  const int grace = pod["terminationGracePeriodSeconds"].as<int>();
  const int pause = container["lifecycle"]["preStop"]["sleep"]["seconds"].as<int>();
  EXPECT_GT(grace, pause + static_cast<int>(cfg.timeouts.drain.count() / 1000));
  EXPECT_EQ(container["resources"]["requests"]["cpu"].as<std::string>(), std::to_string(cfg.workers))
      << "workers should match the CPUs the pod asks for (auto would count the node's)";

  const YAML::Node service = manifest("service.yaml");
  ASSERT_EQ(service["spec"]["ports"].size(), 1u) << "the admin port stays unpublished";
  EXPECT_EQ(service["spec"]["ports"][0]["targetPort"].as<std::string>(), "gateway");
  EXPECT_EQ(service["spec"]["ports"][0]["port"].as<int>(), gateway_port);
  EXPECT_EQ(service["spec"]["selector"]["app.kubernetes.io/name"].as<std::string>(),
            deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>());
}

TEST(DeployManifests, KustomizationListsEveryManifest) {
  const auto listed = manifest("kustomization.yaml")["resources"].as<std::vector<std::string>>();
  std::vector<std::string> present;
  for (const auto& e : std::filesystem::directory_iterator(kDeploy + "kubernetes")) {
    if (e.path().extension() == ".yaml" && e.path().filename() != "kustomization.yaml") {
      present.push_back(e.path().filename().string());
    }
  }
  std::sort(present.begin(), present.end());
  auto sorted = listed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, present);
}

TEST(DeployManifests, SystemdUnitChecksAndRunsTheSameFileAndOutlastsTheDrain) {
  const std::string unit = readFile(kDeploy + "systemd/plexgate.service");
  ASSERT_FALSE(unit.empty());
  const std::string file = "/etc/plexgate/plexgate.yaml";
  EXPECT_NE(unit.find("ExecStartPre=/usr/local/bin/plexgate --check " + file + "\n"), std::string::npos);
  EXPECT_NE(unit.find("ExecStart=/usr/local/bin/plexgate -c " + file + "\n"), std::string::npos);
  EXPECT_NE(unit.find("ExecReload=/usr/local/bin/plexgate --check " + file + "\n"), std::string::npos);
  EXPECT_NE(unit.find("ExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos);
  EXPECT_NE(unit.find("KillSignal=SIGTERM\n"), std::string::npos);
  const size_t at = unit.find("TimeoutStopSec=");
  ASSERT_NE(at, std::string::npos);
  const int stop_s = std::stoi(unit.substr(at + 15));
  EXPECT_GT(stop_s, static_cast<int>(config::Timeouts{}.drain.count() / 1000));
}

}  // namespace
}  // namespace plexgate
