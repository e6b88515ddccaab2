// Internal: an ordered list of oneDNN primitive executions and host steps, replayed each step,
// with optional per-step timing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace pipeline::cnn::detail {

using dnnl::memory;
using DataType = memory::data_type;
using FormatTag = memory::format_tag;

// What a layer knows while it builds its primitives.
struct BuildContext {
  dnnl::engine engine;
  int64_t batch = 0;
  bool training = false;
  DataType activation_type = DataType::f32;  // activations and weights inside the primitives
  // Dropout masks hash (seed, layer, *step, element): the model advances *step once per
  // training step, so every pass of one step sees the same masks.
  uint64_t dropout_seed = 0;
  const uint64_t* dropout_step = nullptr;
};

// Time spent per step label ("backward conv2 convolution"), when profiling is on.
struct ProfileEntry {
  int64_t calls = 0;
  double wall_seconds = 0;
  double cpu_seconds = 0;  // process CPU time: all threads, spinning included
};
using Profile = std::map<std::string, ProfileEntry>;

// An ordered list of primitive executions and host steps; run() replays it.
class Pass {
 public:
  explicit Pass(std::string name) : name_(std::move(name)) {}
  void add(dnnl::primitive primitive, std::unordered_map<int, memory> args);
  // `what` names the step in profiles ("weights refresh", "max_pool_backward").
  void add_host(std::function<void(dnnl::stream&)> host, std::string what = "host");
  // Appends a reorder from `from` to `to` (different layouts or data types).
  void add_reorder(const memory& from, const memory& to);
  // Steps added from now on belong to this layer (named in execution errors).
  void set_layer(std::string name) { layer_ = std::move(name); }
  // Runs every step; with a profile, adds each step's time to it.
  void run(dnnl::stream& stream, Profile* profile = nullptr) const;
  bool empty() const { return steps_.empty(); }

 private:
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> args;
    std::function<void(dnnl::stream&)> host;
    std::string layer;
    std::string label;  // for profiles
  };
  void execute(const Step& step, dnnl::stream& stream) const;

  std::string name_;
  std::vector<Step> steps_;
  std::string layer_;
};

}  // namespace pipeline::cnn::detail
