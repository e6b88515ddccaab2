#include "stages/cnn/training_batch_check.h"

#include <stdexcept>
#include <string>

namespace pipeline::cnn {

void CheckTrainingBatch(const Batch& batch, const Model& model,
                        const Normalization& normalization) {
  const proto::InputShape& input = model.spec().input();
  if (batch.rows != static_cast<int>(input.rows()) ||
      batch.cols != static_cast<int>(input.cols()) ||
      batch.channels != static_cast<int>(input.channels())) {
    throw std::runtime_error("batch of " + ShapeText(batch.rows, batch.cols, batch.channels) +
                             " images, but the model takes " +
                             ShapeText(static_cast<int>(input.rows()),
                                       static_cast<int>(input.cols()),
                                       static_cast<int>(input.channels())));
  }
  if (batch.size() == 0) throw std::runtime_error("empty batch");
  if (static_cast<int64_t>(batch.data.size()) != batch.size() * batch.sample_elements()) {
    throw std::runtime_error("batch holds " + std::to_string(batch.data.size()) + " floats for " +
                             std::to_string(batch.size()) + " samples");
  }
  for (size_t i = 0; i < batch.labels.size(); ++i) {
    if (batch.labels[i] < 0 || batch.labels[i] >= model.classes()) {
      const std::string source = i < batch.sources.size() ? batch.sources[i] : "?";
      throw std::runtime_error("sample " + source + " has label " +
                               std::to_string(batch.labels[i]) + "; training needs labels 0.." +
                               std::to_string(model.classes() - 1));
    }
  }
  if (batch.normalization != normalization) {
    throw std::runtime_error("batch normalized differently from the first batch");
  }
}

}  // namespace pipeline::cnn
