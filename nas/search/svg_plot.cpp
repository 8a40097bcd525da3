#include "nas/search/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace tinynas {

namespace {

const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// Round tick steps: 1, 2 or 5 times a power of ten.
double nice_step(double range, int target) {
  const double raw = range / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

std::string fmt_tick(double v) {
  std::ostringstream ss;
  ss.precision(4);
  ss << (std::abs(v) < 1e-12 ? 0.0 : v);
  return ss.str();
}

}  // namespace

std::string Plot::to_svg() const {
  double x0 = std::numeric_limits<double>::max(), x1 = std::numeric_limits<double>::lowest();
  double y0 = x0, y1 = x1;
  for (const auto& s : series) {
    for (double v : s.x) x0 = std::min(x0, v), x1 = std::max(x1, v);
    for (double v : s.y) y0 = std::min(y0, v), y1 = std::max(y1, v);
  }
  for (const auto& m : x_marks) x0 = std::min(x0, m.first), x1 = std::max(x1, m.first);
  if (x0 > x1) x0 = 0, x1 = 1;
  if (y0 > y1) y0 = 0, y1 = 1;
  // A log2 axis needs positive values; it spans whole powers of two around them.
  const bool log2_axis = log2_x && x0 > 0;
  if (log2_axis) {
    x0 = std::floor(std::log2(x0));
    x1 = std::ceil(std::log2(x1));
  }
  if (x1 - x0 < 1e-12) x1 = x0 + 1;
  if (y1 - y0 < 1e-12) y1 = y0 + 1;
  const double pad_y = (y1 - y0) * 0.05;
  y0 -= pad_y;
  y1 += pad_y;

  const int left = 80, right = legend_width, top = 40, bottom = 60;
  const double pw = width - left - right, ph = height - top - bottom;
  auto sx_lin = [&](double v) { return left + (v - x0) / (x1 - x0) * pw; };
  auto sx = [&](double v) { return sx_lin(log2_axis ? std::log2(v) : v); };
  auto sy = [&](double v) { return top + ph - (v - y0) / (y1 - y0) * ph; };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
    << escape(title) << "</text>\n";
  // Ticks in axis units (log2 of the value on a log2 axis), labelled with the value.
  const double xs = log2_axis ? std::max(1.0, std::ceil((x1 - x0) / 10)) : nice_step(x1 - x0, 8);
  const double ys = nice_step(y1 - y0, 6);
  for (double v = std::ceil(x0 / xs) * xs; v <= x1 + 1e-9; v += xs) {
    o << "<line x1=\"" << sx_lin(v) << "\" y1=\"" << top << "\" x2=\"" << sx_lin(v) << "\" y2=\""
      << top + ph << "\" stroke=\"#eee\"/>\n";
    o << "<text x=\"" << sx_lin(v) << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">"
      << fmt_tick(log2_axis ? std::exp2(v) : v) << "</text>\n";
  }
  for (double v = std::ceil(y0 / ys) * ys; v <= y1 + 1e-9; v += ys) {
    o << "<line x1=\"" << left << "\" y1=\"" << sy(v) << "\" x2=\"" << left + pw << "\" y2=\""
      << sy(v) << "\" stroke=\"#eee\"/>\n";
    o << "<text x=\"" << left - 6 << "\" y=\"" << sy(v) + 4 << "\" text-anchor=\"end\">"
      << fmt_tick(v) << "</text>\n";
  }
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << height - 18
    << "\" text-anchor=\"middle\">" << escape(x_label) << "</text>\n";
  o << "<text transform=\"translate(20," << top + ph / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape(y_label) << "</text>\n";
  for (const auto& m : x_marks) {
    o << "<line x1=\"" << sx(m.first) << "\" y1=\"" << top << "\" x2=\"" << sx(m.first)
      << "\" y2=\"" << top + ph << "\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n";
    // Near the right edge the label goes left of its line, clear of the legend.
    const bool right = sx(m.first) > left + 0.8 * pw;
    o << "<text x=\"" << (right ? sx(m.first) - 3 : sx(m.first) + 3) << "\" y=\"" << top + 12
      << "\" fill=\"#666\" text-anchor=\"" << (right ? "end" : "start") << "\">" << escape(m.second)
      << "</text>\n";
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const std::string color = s.color.empty() ? kPalette[i % 10] : s.color;
    if (s.line && s.x.size() > 1) {
      o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.6\" points=\"";
      for (std::size_t j = 0; j < s.x.size(); ++j) o << sx(s.x[j]) << "," << sy(s.y[j]) << " ";
      o << "\"/>\n";
    }
    if (!s.line || s.x.size() <= 1 || s.markers) {
      for (std::size_t j = 0; j < s.x.size(); ++j) {
        o << "<circle cx=\"" << sx(s.x[j]) << "\" cy=\"" << sy(s.y[j]) << "\" r=\"3\" fill=\""
          << color << "\" fill-opacity=\"0.7\"/>\n";
      }
    }
    const double ly = top + 10 + 16.0 * static_cast<double>(i);
    o << "<rect x=\"" << left + pw + 12 << "\" y=\"" << ly - 8 << "\" width=\"12\" height=\"8\" fill=\""
      << color << "\"/>\n";
    o << "<text x=\"" << left + pw + 30 << "\" y=\"" << ly << "\">" << escape(s.label) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace tinynas
