#include "stages/cnn/checkpoint.h"

#include <exception>
#include <stdexcept>
#include <utility>
#include <vector>

#include "nn/model_spec.h"

namespace pipeline::cnn {
namespace {

void ToProto(const Tensor& tensor, proto::TensorData* data) {
  data->set_name(tensor.name);
  data->mutable_shape()->Add(tensor.shape.begin(), tensor.shape.end());
  data->mutable_values()->Add(tensor.values.begin(), tensor.values.end());
}

// Dimensions are checked before they are multiplied, so a hostile shape cannot overflow.
Tensor FromProto(const proto::TensorData& data) {
  Tensor tensor;
  tensor.name = data.name();
  for (int64_t dimension : data.shape()) {
    if (dimension < 0 || dimension > (int64_t{1} << 31)) {
      throw std::invalid_argument("tensor \"" + data.name() + "\" has dimension " +
                                  std::to_string(dimension));
    }
    tensor.shape.push_back(dimension);
  }
  tensor.values.assign(data.values().begin(), data.values().end());
  check_tensor_shape(tensor, tensor.shape);  // the value count must match the shape
  return tensor;
}

std::vector<Tensor> FromProto(const google::protobuf::RepeatedPtrField<proto::TensorData>& list) {
  std::vector<Tensor> tensors;
  tensors.reserve(static_cast<size_t>(list.size()));
  for (const proto::TensorData& data : list) tensors.push_back(FromProto(data));
  return tensors;
}

// Checks everything the snapshot will be trusted with; throws std::invalid_argument.
std::shared_ptr<const ModelSnapshot> Decode(const proto::CheckpointBody& body) {
  if (!body.has_model()) throw std::invalid_argument("it holds no model spec");
  auto snapshot = std::make_shared<ModelSnapshot>();
  snapshot->spec = body.model();
  resolve_model(snapshot->spec);
  snapshot->position = body.position();
  snapshot->tensors = std::make_shared<const std::vector<Tensor>>(FromProto(body.tensors()));
  std::unique_ptr<Model> model = RestoreModel(*snapshot);  // checks every name and shape

  snapshot->optimizer = body.optimizer().spec();
  snapshot->schedule = body.optimizer().schedule();
  if (snapshot->optimizer.kind_case() != proto::OptimizerSpec::KIND_NOT_SET) {
    auto state = std::make_shared<OptimizerState>();
    state->steps = body.optimizer().steps();
    state->slots = FromProto(body.optimizer().slots());
    if (state->steps < 0) throw std::invalid_argument("the optimizer step count is negative");
    Optimizer::create(snapshot->optimizer, model->parameters())->load_state(*state);
    snapshot->optimizer_state = std::move(state);
  }
  const proto::NormalizationData& normalization = body.normalization();
  snapshot->normalization = {normalization.applied(), normalization.scale(), normalization.mean(),
                             normalization.std()};
  if (normalization.applied() && !(normalization.std() > 0)) {
    throw std::invalid_argument("its normalization has std " + std::to_string(normalization.std()));
  }
  snapshot->metrics.assign(body.metrics().begin(), body.metrics().end());
  snapshot->graph_text = body.graph_text();
  snapshot->graph_file = body.graph_file();
  snapshot->dataset_name = body.dataset().name();
  snapshot->precision_choice = body.precision_choice();
  snapshot->class_names.assign(body.dataset().class_names().begin(),
                               body.dataset().class_names().end());
  if (body.has_calibration()) snapshot->calibration = body.calibration();
  return snapshot;
}

}  // namespace

proto::CheckpointBody SnapshotToBody(const ModelSnapshot& snapshot) {
  proto::CheckpointBody body;
  *body.mutable_model() = snapshot.spec;
  if (snapshot.tensors) {
    for (const Tensor& tensor : *snapshot.tensors) ToProto(tensor, body.add_tensors());
  }
  proto::OptimizerData* optimizer = body.mutable_optimizer();
  *optimizer->mutable_spec() = snapshot.optimizer;
  *optimizer->mutable_schedule() = snapshot.schedule;
  if (snapshot.optimizer_state) {
    optimizer->set_steps(snapshot.optimizer_state->steps);
    for (const Tensor& slot : snapshot.optimizer_state->slots)
      ToProto(slot, optimizer->add_slots());
  }
  *body.mutable_position() = snapshot.position;
  proto::NormalizationData* normalization = body.mutable_normalization();
  normalization->set_applied(snapshot.normalization.applied);
  normalization->set_scale(snapshot.normalization.scale);
  normalization->set_mean(snapshot.normalization.mean);
  normalization->set_std(snapshot.normalization.std);
  for (const proto::EpochMetrics& row : snapshot.metrics) *body.add_metrics() = row;
  body.set_graph_text(snapshot.graph_text);
  body.set_graph_file(snapshot.graph_file);
  body.mutable_dataset()->set_name(snapshot.dataset_name);
  body.set_precision_choice(snapshot.precision_choice);
  for (const std::string& name : snapshot.class_names)
    body.mutable_dataset()->add_class_names(name);
  if (snapshot.calibration.ranges_size() > 0) *body.mutable_calibration() = snapshot.calibration;
  body.set_writer("pipeline cnn stages, checkpoint format " +
                  std::to_string(kCheckpointFormatVersion));
  return body;
}

std::shared_ptr<const ModelSnapshot> SnapshotFromBody(const proto::CheckpointBody& body,
                                                      const std::string& origin) {
  try {
    return Decode(body);
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint " + origin + ": " + e.what());
  }
}

void SaveCheckpoint(const ModelSnapshot& snapshot, const std::string& path) {
  WriteCheckpointBody(path, SnapshotToBody(snapshot));
}

std::shared_ptr<const ModelSnapshot> LoadCheckpoint(const std::string& path,
                                                    CheckpointFileInfo* info) {
  return SnapshotFromBody(ReadCheckpointBody(path, info), path);
}

}  // namespace pipeline::cnn
