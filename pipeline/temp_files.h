// Temporary files that are renamed onto their target when complete, so that a reader never sees
// half a file. Their names are unique per write (two runs writing the same output never share
// one) and carry the writer's process id, so that one left behind by a killed run can be told
// apart from one still being written.
#pragma once

#include <string>

namespace pipeline {

// Creates "<folder>/.<name>.tmp-<pid>-XXXXXX" next to `target` (mkstemp: unique, mode 0600) and
// returns its name; the open descriptor goes to *fd, or is closed when fd is null. The first
// call for a folder in this process first removes that folder's stale temporary files (see
// RemoveStaleTempFiles). Throws std::runtime_error naming `target` and the system error.
std::string CreateTempFileFor(const std::string& target, int* fd = nullptr);

// Removes, in `folder`, the files named like CreateTempFileFor's (or like the report's older
// "<name>.html.tmp<pid>") whose writer process is no longer running, and the older checkpoint
// temporaries ".<name>.ckpt.tmp-XXXXXX" (no pid) last written more than an hour ago. Returns how
// many were removed; errors are ignored (it is housekeeping).
int RemoveStaleTempFiles(const std::string& folder);

// Creates `folder` (and its parents) for a sink that writes files there and removes the stale
// temporary files a killed run left in it. Throws std::runtime_error naming the folder and its
// `role` ("checkpoint", "report") when it cannot be created.
void PrepareOutputFolder(const std::string& folder, const std::string& role);

}  // namespace pipeline
