// Checkpoints of "model" snapshots: save atomically, load with every check a file from outside
// deserves (see checkpoint_file.h for the byte level).
#pragma once

#include <memory>
#include <string>

#include "checkpoint.pb.h"
#include "nn/checkpoint_file.h"
#include "stages/cnn/model_snapshot.h"

namespace pipeline::cnn {

// Writes `snapshot` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
void SaveCheckpoint(const ModelSnapshot& snapshot, const std::string& path);

// Reads `path` and checks it completely: format version, checksum, model spec, every tensor's
// name and shape against the spec (through Model::load_state_tensors) and the optimizer state
// against the optimizer. Throws std::runtime_error naming `path` on any problem.
std::shared_ptr<const ModelSnapshot> LoadCheckpoint(const std::string& path,
                                                    CheckpointFileInfo* info = nullptr);

// The conversions behind the two calls above. SnapshotFromBody validates like LoadCheckpoint,
// naming `origin` in its errors.
proto::CheckpointBody SnapshotToBody(const ModelSnapshot& snapshot);
std::shared_ptr<const ModelSnapshot> SnapshotFromBody(const proto::CheckpointBody& body,
                                                      const std::string& origin);

}  // namespace pipeline::cnn
