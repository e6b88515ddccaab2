#include "pipeline/stage.h"

namespace pipeline {
namespace {

// SplitMix64 finaliser: spreads every input bit over the whole word.
uint64_t Mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

// FNV-1a: a stable hash of the stage name (std::hash may differ between builds).
uint64_t HashName(std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

}  // namespace

std::string_view to_string(StageKind kind) {
  switch (kind) {
    case StageKind::kSource: return "source";
    case StageKind::kTransform: return "transform";
    case StageKind::kSink: return "sink";
  }
  return "?";
}

std::string_view to_string(Concurrency concurrency) {
  return concurrency == Concurrency::kSerial ? "serial" : "parallel, order-preserving";
}

const ParamSpec* StageInfo::find_param(std::string_view param_name) const {
  for (const auto& spec : params) {
    if (spec.name == param_name) return &spec;
  }
  return nullptr;
}

uint64_t DeriveSeed(uint64_t graph_seed, std::string_view stage_name, int64_t epoch,
                    int64_t index) {
  uint64_t seed = Mix(graph_seed ^ Mix(HashName(stage_name)));
  seed = Mix(seed ^ static_cast<uint64_t>(epoch));
  return Mix(seed ^ static_cast<uint64_t>(index));
}

std::mt19937_64 Stage::rng_for(int64_t epoch, int64_t index) const {
  return std::mt19937_64(DeriveSeed(env_.graph_seed, env_.name, epoch, index));
}

}  // namespace pipeline
