// `cnn_train`: the stage (cnn_train.cpp) and its registration (cnn_train_registration.cpp).
#pragma once

#include <memory>

#include "pipeline/stage.h"

namespace pipeline {

std::unique_ptr<Stage> CreateCnnTrain();

}  // namespace pipeline
