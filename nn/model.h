// A CNN built from a ModelSpec, trained and run with oneDNN primitives.
//
//   pipeline::cnn::Model model(pipeline::cnn::seed_network_spec(), /*seed=*/42);
//   pipeline::cnn::Trainer trainer(model, optimizer_spec, schedule_spec);   // trainer.h
//   StepResult r = trainer.step(images, labels, 128);     // {mean loss, correct, count}
//   model.predict(images, n, probabilities);              // n x classes softmax
//   std::vector<Tensor> state = model.state_tensors();    // checkpoint; load_state_tensors()
//
// Images are NHWC fp32 (n x rows x cols x channels), labels int32 in [0, classes). The network is
// compiled once per batch size and mode (primitives, memory layouts, activation buffers) and
// reused, so steady-state steps create nothing: activations stay in the blocked layouts the
// primitives choose, and training weights live in the layout their primitives read (parameter.h).
// Dense weights after a flatten take their inputs in NCHW order (channel-major, as PyTorch).
//
// Not thread-safe: one thread at a time. oneDNN computes on OpenMP threads (OMP_NUM_THREADS);
// see openmp_policy.h for running next to other busy threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model.pb.h"
#include "nn/loss.h"
#include "nn/model_spec.h"
#include "nn/parameter.h"
#include "nn/tensor.h"

namespace pipeline::cnn {

class Optimizer;
namespace detail {
class Net;
struct LayerParameters;
struct ProfileEntry;
}  // namespace detail

class Model {
 public:
  // What a new model's weights start as: drawn from the seed, or left at zero for a caller that
  // loads saved tensors at once (the draws cost ~30 ms for the seed network's 1.2 M weights).
  enum class Weights { kDrawn, kLoadedLater };

  // Validates the spec (std::invalid_argument naming the layer) and initialises the weights:
  // He-normal for layers whose output goes through a ReLU, Glorot-uniform otherwise, biases 0;
  // every tensor's draws depend only on (seed, tensor name).
  Model(const proto::ModelSpec& spec, uint64_t seed, Weights weights = Weights::kDrawn);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const proto::ModelSpec& spec() const { return spec_; }
  const ResolvedModel& resolved() const { return resolved_; }
  int64_t classes() const { return resolved_.classes; }
  int64_t input_elements() const { return resolved_.input.elements(); }  // per image
  bool bf16() const { return spec_.precision() == proto::PRECISION_BF16; }

  // One optimisation step: forward and backward in training mode on n images, then
  // optimizer.step(learning_rate). Returns the batch's mean loss and correct count (from the
  // forward pass, i.e. before the update).
  StepResult train_step(const float* images, const int32_t* labels, int64_t n, Optimizer& optimizer,
                        double learning_rate);
  // Training-mode forward and backward: leaves d(mean loss)/d(parameter) in every
  // Parameter::grad, changes no weight (batch-norm running statistics do move).
  StepResult compute_gradients(const float* images, const int32_t* labels, int64_t n);
  // Training-mode forward only (dropout masks of the current step), for gradient checks.
  StepResult training_loss(const float* images, const int32_t* labels, int64_t n);

  // Inference mode (no dropout, batch-norm running statistics); any n, run in chunks.
  StepResult evaluate(const float* images, const int32_t* labels, int64_t n);
  // Class probabilities, n x classes row-major.
  void predict(const float* images, int64_t n, float* probabilities);
  // Raw scores before the softmax, n x classes.
  void predict_logits(const float* images, int64_t n, float* logits);

  // Trainable tensors in layer order: "<layer>.weight", "<layer>.bias", "<bn>.gamma", "<bn>.beta".
  // Change Parameter::value only through an Optimizer or load_state_tensors(), or bump
  // Parameter::version after editing it.
  std::vector<Parameter*> parameters();
  // Everything a checkpoint needs to restore the network: the parameters, then the batch-norm
  // running statistics ("<bn>.running_mean", "<bn>.running_var").
  std::vector<Tensor> state_tensors() const;
  // Restores tensors by name; every expected tensor must be present with the expected shape
  // (std::invalid_argument naming the first one that is not); unknown names are an error too.
  void load_state_tensors(const std::vector<Tensor>& tensors);

  // Training steps taken; dropout masks are drawn from (seed, layer, step).
  uint64_t step() const { return step_; }
  void set_step(uint64_t step) { step_ = step; }
  uint64_t seed() const { return seed_; }

  // The oneDNN implementation each layer runs at this batch size, one line per layer.
  std::string implementations(int64_t batch, bool training);

  // Per-step timing (like `caffe time`): while on, every primitive and host step is timed
  // (with a stream wait after each, so a little slower). profile_report() lists the steps by time,
  // with the optimizer update and the loss; reset_profile() clears the totals.
  void set_profiling(bool on) { profiling_ = on; }
  std::string profile_report() const;
  void reset_profile();

  // Largest chunk evaluate()/predict() run at once.
  static constexpr int64_t kInferenceChunk = 256;

 private:
  detail::Net& net(int64_t batch, bool training);
  std::map<std::string, detail::ProfileEntry>* active_profile();
  // Runs `work`, adding its time to the profile under `label` when profiling.
  template <typename Work>
  auto timed(const char* label, Work&& work);
  void check_batch(const float* images, int64_t n) const;
  void initialise(Weights weights);

  proto::ModelSpec spec_;
  ResolvedModel resolved_;
  uint64_t seed_;
  uint64_t step_ = 0;
  std::vector<std::unique_ptr<Parameter>> parameters_;
  std::vector<std::unique_ptr<Parameter>> buffers_;
  std::vector<detail::LayerParameters> layer_parameters_;
  struct Runtime;  // oneDNN engine and stream
  std::unique_ptr<Runtime> runtime_;
  std::map<std::pair<int64_t, bool>, std::unique_ptr<detail::Net>> nets_;
  bool profiling_ = false;
  std::unique_ptr<std::map<std::string, detail::ProfileEntry>> profile_;
};

}  // namespace pipeline::cnn
