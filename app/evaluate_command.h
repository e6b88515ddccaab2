// `pipeline evaluate CHECKPOINT [DATA]`: measures a trained model on labelled data and writes the
// same report a training run writes. It builds a small graph (checkpoint_source, idx_source ->
// normalize -> batch, evaluate, report) and runs it with the engine, so evaluation has one code
// path whether it follows training or stands alone.
#pragma once

#include <string>

#include "pipeline/cli/cli.h"
#include "pipeline/payloads.h"
#include "pipeline/plugin.h"

namespace pipeline::cnn {

// What `pipeline evaluate` runs.
struct EvaluationPlan {
  std::string checkpoint;
  std::string images;
  std::string labels;
  std::string out_dir;
  int batch = 1000;
  int mistakes = 36;
  std::string precision = "auto";  // the evaluate stage's: auto, fp32, bf16, int8
  // The checkpoint's normalization, repeated on the data (applied = false: none).
  Normalization normalization;
};

// The labels file beside an IDX images file by the MNIST naming (t10k-images-idx3-ubyte.gz ->
// t10k-labels-idx1-ubyte.gz); empty when the name does not follow it.
std::string LabelsBesideImages(const std::string& images);

// The short name of an IDX images file for folder names: "t10k" for t10k-images-idx3-ubyte.gz,
// "my" for my-images-idx3-ubyte.gz, "digits" for digits.idx.
std::string DataStem(const std::string& images);

// Where `pipeline evaluate CHECKPOINT DATA` writes its report without --out: beside the
// checkpoint, named after both (runs/mnist/latest_evaluation_t10k), so evaluating another data set
// never replaces an earlier evaluation's report.
std::string DefaultReportFolder(const std::string& checkpoint, const std::string& images);

// The graph that evaluates `plan`, as graph-file text.
std::string EvaluationGraphText(const EvaluationPlan& plan);

// `stages` registers the stages the graph uses (the standard stages).
CliCommand EvaluateCommand(const PipelinePluginDescriptor& stages);

}  // namespace pipeline::cnn
