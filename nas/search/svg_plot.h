// Line and scatter plots written as standalone SVG: results a person can open in a browser,
// with no plotting dependency.
#pragma once

#include <string>
#include <vector>

namespace tinynas {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  bool line = true;        // false: markers only
  std::string color;       // empty: from the palette
  bool markers = false;    // with line: a marker on every point too
};

struct Plot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  int width = 720, height = 480;
  int legend_width = 190;  // right of the plot area, within width
  bool log2_x = false;      // x on a log2 axis, ticked at powers of two (needs x > 0)
  std::vector<std::pair<double, std::string>> x_marks;  // vertical reference lines

  std::string to_svg() const;
};

}  // namespace tinynas
