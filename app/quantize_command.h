// `pipeline quantize CHECKPOINT OUT.ckpt`: calibrates a checkpoint for int8 inference (nn/int8/)
// and writes it with the calibration, which cnn_predict and evaluate use with `precision: int8`.
#pragma once

#include "pipeline/cli/cli.h"

namespace pipeline::cnn {

CliCommand QuantizeCommand();

}  // namespace pipeline::cnn
