// The --profile report: which stage bounds the run, and the per-stage figures behind the verdict.
#include <algorithm>
#include <cstdio>
#include <string>

#include "pipeline/engine/runner.h"

namespace pipeline {
namespace {

// A blocked time worth naming in the verdict: at least 5% of the run.
constexpr double kNotableShare = 0.05;
// Below this busy share no single stage bounds the run.
constexpr double kBoundingShare = 0.5;

std::string Format(const char* format, auto... values) {
  char text[256];
  std::snprintf(text, sizeof(text), format, values...);
  return text;
}

std::string Seconds(double seconds) { return Format("%.2f", seconds); }

std::string Kind(const StageProfile& stage) {
  if (stage.source) return "source";
  return stage.parallel ? "parallel" : "serial";
}

std::string Verdict(const RunResult& result) {
  const int index = BottleneckStage(result);
  if (index < 0) return "bottleneck: none (no stage did any work)";
  const StageProfile& bound = result.profile[static_cast<size_t>(index)];
  const double share = Utilization(bound, result);
  const std::string name = "\"" + bound.name + "\" (" + bound.plugin + ")";
  if (share < kBoundingShare) {
    return Format(
        "bottleneck: none clear; the busiest stage, %s, was busy %.0f%% of the run, so "
        "the run waits on worker threads or on the sources' own pace",
        name.c_str(), 100 * share);
  }
  std::string line = Format("bottleneck: %s, busy %.0f%% of the run", name.c_str(), 100 * share);
  if (bound.input_wait_seconds > 0) {
    line += Format(" (starved %.0f%%)", 100 * bound.input_wait_seconds / result.flow_seconds);
  }
  std::string blocked;
  for (const StageProfile& stage : result.profile) {
    if (stage.output_wait_seconds < kNotableShare * result.flow_seconds) continue;
    blocked += (blocked.empty() ? "" : ", ") + stage.name + " " +
               Seconds(stage.output_wait_seconds) + " s";
  }
  if (!blocked.empty()) line += "; sources held back by back-pressure: " + blocked;
  return line + "; a faster " + bound.name + " makes a faster run";
}

}  // namespace

double Utilization(const StageProfile& stage, const RunResult& result) {
  const double capacity =
      result.flow_seconds * (stage.parallel ? static_cast<double>(result.threads) : 1.0);
  return capacity > 0 ? stage.busy_seconds / capacity : 0;
}

int BottleneckStage(const RunResult& result) {
  int best = -1;
  double best_share = 0;
  for (size_t i = 0; i < result.profile.size(); ++i) {
    const double share = Utilization(result.profile[i], result);
    if (share > best_share) {
      best_share = share;
      best = static_cast<int>(i);
    }
  }
  return best;
}

std::string FormatProfile(const RunResult& result) {
  std::string text =
      Format("profile: %.2f s of dataflow (%.2f s wall), %d thread%s\n", result.flow_seconds,
             result.wall_seconds, result.threads, result.threads == 1 ? "" : "s");
  // Columns as wide as the longest stage and plugin names, so long names keep rows aligned.
  int name_width = 18, plugin_width = 16;
  for (const StageProfile& stage : result.profile) {
    name_width = std::max(name_width, static_cast<int>(stage.name.size()));
    plugin_width = std::max(plugin_width, static_cast<int>(stage.plugin.size()));
  }
  text += Format("%-*s %-*s %-8s %8s %6s %10s %11s %10s %10s %10s\n", name_width, "stage",
                 plugin_width, "plugin", "kind", "busy s", "busy%", "in-wait s", "out-wait s",
                 "msgs in", "msgs out", "msgs/s");
  for (const StageProfile& stage : result.profile) {
    const int64_t handled = stage.source ? stage.messages_out : stage.messages_in;
    const double rate =
        result.flow_seconds > 0 ? static_cast<double>(handled) / result.flow_seconds : 0;
    text += Format("%-*s %-*s %-8s %8.2f %5.0f%% %10s %11s %10lld %10lld %10.0f\n", name_width,
                   stage.name.c_str(), plugin_width, stage.plugin.c_str(), Kind(stage).c_str(),
                   stage.busy_seconds, 100 * Utilization(stage, result),
                   stage.source ? "-" : Seconds(stage.input_wait_seconds).c_str(),
                   stage.source ? Seconds(stage.output_wait_seconds).c_str() : "-",
                   static_cast<long long>(stage.messages_in),
                   static_cast<long long>(stage.messages_out), rate);
  }
  return text + Verdict(result) + "\n";
}

}  // namespace pipeline
