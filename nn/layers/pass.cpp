#include "nn/layers/pass.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <time.h>

#include <stdexcept>

namespace pipeline::cnn::detail {

void Pass::add(dnnl::primitive primitive, std::unordered_map<int, memory> args) {
  const char* kind = dnnl_prim_kind2str(static_cast<dnnl_primitive_kind_t>(primitive.get_kind()));
  steps_.push_back(Step{std::move(primitive), std::move(args), nullptr, layer_,
                        name_ + " " + layer_ + " " + kind});
}

void Pass::add_host(std::function<void(dnnl::stream&)> host, std::string what) {
  steps_.push_back(
      Step{dnnl::primitive(), {}, std::move(host), layer_, name_ + " " + layer_ + " " + what});
}

void Pass::add_reorder(const memory& from, const memory& to) {
  add(dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}

void Pass::execute(const Step& step, dnnl::stream& stream) const {
  try {
    if (step.host) {
      step.host(stream);
    } else {
      step.primitive.execute(stream, step.args);
    }
  } catch (const dnnl::error& error) {
    throw std::runtime_error("layer " + step.layer + ": " + step.label.substr(name_.size() + 1) +
                             ": " + error.what());
  }
}

void Pass::run(dnnl::stream& stream, Profile* profile) const {
  if (profile == nullptr) {
    for (const Step& step : steps_) execute(step, stream);
    stream.wait();
    return;
  }
  const auto clock = [](clockid_t id) {
    timespec time;
    clock_gettime(id, &time);
    return static_cast<double>(time.tv_sec) + 1e-9 * static_cast<double>(time.tv_nsec);
  };
  for (const Step& step : steps_) {
    const double wall = clock(CLOCK_MONOTONIC), cpu = clock(CLOCK_PROCESS_CPUTIME_ID);
    execute(step, stream);
    stream.wait();
    ProfileEntry& entry = (*profile)[step.label];
    ++entry.calls;
    entry.wall_seconds += clock(CLOCK_MONOTONIC) - wall;
    entry.cpu_seconds += clock(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  }
}

}  // namespace pipeline::cnn::detail
