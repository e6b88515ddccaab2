// index.html: one self-contained page showing a run's report — every picture, the epoch and
// per-class tables, the mistakes, the settings and the graph. It links only files in its own
// folder, so it opens offline and keeps working when the folder is copied elsewhere.
#pragma once

#include <string>
#include <vector>

#include "report.pb.h"

namespace pipeline::cnn::report {

// A picture of the report: its file name in the run folder and a caption.
struct Figure {
  std::string file;
  std::string caption;
};

// `text` with &, <, >, " and ' escaped for HTML.
std::string EscapeHtml(const std::string& text);

std::string IndexHtml(const proto::RunReport& report, const std::vector<Figure>& figures);

}  // namespace pipeline::cnn::report
