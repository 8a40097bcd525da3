#include "estimators/latency.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <sstream>

#include "estimators/memory_plan.h"
#include "search_spaces/arch_spec.h"
#include "search_spaces/atomic_file.h"

namespace tinynas {

const char* const kProfileHeader = "op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles";

int latency_features_used(const OpDescriptor& op) {
  int n = 0;
  for (int f = 0; f < kNumLatencyFeatures; ++f) n += op.latency_feature_used(f);
  return n;
}

void LatencyModel::require(const OpDescriptor& op) const {
  if (has(op)) return;
  throw ConfigError((origin.empty() ? std::string("the latency model") : origin) +
                    ": no coefficients for op kind '" + op.name() +
                    "', which the model uses (calibrate it: tinynas calibrate --profile P.csv "
                    "--mcu M.yaml, with rows of that kind)");
}

const OpDescriptor* LatencyModel::uncalibrated_kind(const NetGraph& g) const {
  for (const Layer& l : g.layers) {
    if (!has(*l.op)) return l.op;
  }
  return nullptr;
}

double LatencyModel::graph_cycles(const NetGraph& g, const MemoryPlan* plan) const {
  for (const Layer& l : g.layers) {
    if (!has(*l.op)) require(*l.op);  // throws, naming the kind
  }
  double total = 0;
  int begin = 0;
  if (plan != nullptr && plan->patched && plan->ok) {
    const PatchPlan& pp = plan->patch;
    begin = pp.stage_end;
    for (int i = 0; i < pp.stage_end; ++i) {
      const Layer& l = g.layers[i];
      // Linear in the features, and the patches are rows x columns: sum each feature over the
      // bands of each axis, then one product.
      double in_r = 0, in_c = 0, out_r = 0, out_c = 0;
      for (int b = 0; b < pp.patches; ++b) {
        in_r += pp.reach(0, b, i).hi - pp.reach(0, b, i).lo;
        in_c += pp.reach(1, b, i).hi - pp.reach(1, b, i).lo;
        out_r += pp.span(0, b, l.output).hi - pp.span(0, b, l.output).lo;
        out_c += pp.span(1, b, l.output).hi - pp.span(1, b, l.output).lo;
      }
      const double n = pp.num_patches();
      const LatencyFeatures f{static_cast<double>(pp.macs_per_pixel[i]) * out_r * out_c,
                              in_r * in_c * l.in.c, out_r * out_c * l.out.c,
                              static_cast<double>(l.weights) * n, n};
      total += cycles(*l.op, f);
    }
  }
  for (std::size_t i = begin; i < g.layers.size(); ++i) total += layer_cycles(g.layers[i]);
  return total;
}

LatencyModel LatencyModel::from_config(const ConfigNode& node) {
  node.expect_map();
  node.check_keys({"mcu", "core", "clock_mhz", "source", "rows", "fit", "ops"});
  LatencyModel m;
  m.mcu = node.get_string("mcu", "");
  m.core = node.get_string("core", "");
  m.clock_mhz = node.get_double("clock_mhz", 0, 0, 10000);
  m.source = node.at("source").as_string();
  m.fitted_rows = node.get_int("rows", 0, 0, INT64_MAX);
  if (const auto fit = node.find("fit")) {
    fit->check_keys({"row_error_pct", "network_error_pct"});
    m.fit_row_error_pct = fit->get_double("row_error_pct", -1, 0, 1e9);
    m.fit_network_error_pct = fit->get_double("network_error_pct", -1, 0, 1e9);
  }
  // Only the kinds a calibration measured: the others stay uncalibrated, and a model that uses
  // one is refused when its latency is asked for.
  const ConfigNode ops = node.at("ops");
  ops.expect_map();
  std::vector<std::string> kinds;
  for (const OpDescriptor* d : all_ops()) kinds.push_back(d->name());
  ops.check_keys(kinds);
  std::vector<std::string> keys;
  for (int f = 0; f < kNumLatencyFeatures; ++f) keys.push_back(latency_feature_name(f));
  for (const OpDescriptor* d : all_ops()) {
    const auto op = ops.find(d->name());
    if (!op) continue;
    op->expect_map();
    op->check_keys(keys);
    for (int f = 0; f < kNumLatencyFeatures; ++f) {
      m.coef[d->id()][f] = op->get_double(keys[f], 0.0, 0.0, 1e12);
    }
    m.calibrated[d->id()] = 1;
  }
  return m;
}

LatencyModel LatencyModel::load(const std::string& path) {
  LatencyModel m = from_config(ConfigNode::load_file(path));
  m.origin = path;
  return m;
}

namespace {

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string LatencyModel::to_yaml() const {
  std::ostringstream ss;
  ss << "# Latency model: per op kind, cycles = macs*MACs + input_bytes*input bytes\n"
        "#   + output_bytes*output bytes + weight_bytes*weight bytes + fixed\n"
        "# (estimators/latency.h). Written by `tinynas calibrate`.\n";
  if (!mcu.empty()) ss << "mcu: " << mcu << "\n";
  if (!core.empty()) ss << "core: " << core << "\n";
  if (clock_mhz > 0) ss << "clock_mhz: " << format_double(clock_mhz) << "\n";
  ss << "source: " << yaml_quote(source) << "\n";
  ss << "rows: " << fitted_rows << "\n";
  if (fit_row_error_pct >= 0) {
    ss << "fit: {row_error_pct: " << format_double(fit_row_error_pct)
       << ", network_error_pct: " << format_double(fit_network_error_pct) << "}\n";
  }
  ss << "ops:\n";
  for (const OpDescriptor* d : all_ops()) {
    if (!has(*d)) continue;
    ss << "  " << d->name() << ": {";
    for (int f = 0; f < kNumLatencyFeatures; ++f) {
      ss << (f ? ", " : "") << latency_feature_name(f) << ": " << format_double(coef[d->id()][f]);
    }
    ss << "}\n";
  }
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// Profile CSV.

namespace {

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
  return s.substr(a, b - a);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

}  // namespace

std::vector<ProfileRow> parse_profile_csv(const std::string& text, const std::string& origin) {
  static const char* const fields[] = {"op",    "kh",    "kw",    "stride", "h_in", "w_in",
                                       "c_in",  "h_out", "w_out", "c_out",  "macs", "cycles"};
  auto fail = [&](int line, const std::string& what) -> void {
    throw ConfigError(origin + ":" + std::to_string(line) + ": " + what);
  };
  std::vector<ProfileRow> rows;
  std::istringstream in(text);
  std::string raw;
  int line = 0;
  bool header = false;
  while (std::getline(in, raw)) {
    ++line;
    const std::string s = trim(raw);
    if (s.empty()) continue;
    if (!header) {
      if (s != kProfileHeader) {
        fail(line, std::string("expected the profile header '") + kProfileHeader + "', got '" +
                       s + "'");
      }
      header = true;
      continue;
    }
    const std::vector<std::string> f = split_commas(s);
    if (f.size() != 12) {
      fail(line, "expected 12 comma-separated fields (" + std::string(kProfileHeader) +
                     "), got " + std::to_string(f.size()));
    }
    ProfileRow r;
    r.line = line;
    r.op = find_op(f[0]);
    if (r.op == nullptr) {
      fail(line, "unknown op kind '" + f[0] + "' (expected one of " + op_names() + ")");
    }
    int64_t v[10];
    for (int i = 1; i <= 10; ++i) {
      const std::string& x = f[i];
      char* end = nullptr;
      errno = 0;
      const long long n = x.empty() ? -1 : std::strtoll(x.c_str(), &end, 10);
      const int64_t lo = i == 10 ? 0 : 1;
      const int64_t hi = i == 10 ? (int64_t{1} << 40) : (1 << 20);
      if (x.empty() || *end != '\0' || errno != 0 || n < lo || n > hi) {
        fail(line, std::string("field '") + fields[i] + "': expected an integer in [" +
                       std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + x + "'");
      }
      v[i - 1] = n;
    }
    r.kh = static_cast<int>(v[0]);
    r.kw = static_cast<int>(v[1]);
    r.stride = static_cast<int>(v[2]);
    r.h_in = static_cast<int>(v[3]);
    r.w_in = static_cast<int>(v[4]);
    r.c_in = static_cast<int>(v[5]);
    r.h_out = static_cast<int>(v[6]);
    r.w_out = static_cast<int>(v[7]);
    r.c_out = static_cast<int>(v[8]);
    r.macs = v[9];
    {
      char* end = nullptr;
      const std::string& x = f[11];
      const double c = x.empty() ? -1 : std::strtod(x.c_str(), &end);
      if (x.empty() || *end != '\0' || !std::isfinite(c) || c < 0) {
        fail(line, "field 'cycles': expected a non-negative number, got '" + x + "'");
      }
      if (c == 0) {
        fail(line, "field 'cycles': 0 (a profile from a build without a cycle counter, e.g. a "
                   "host build, records 0; profile on the MCU or under QEMU)");
      }
      r.cycles = c;
    }
    rows.push_back(r);
  }
  if (!header) throw ConfigError(origin + ": empty profile (expected the header '" +
                                 std::string(kProfileHeader) + "' and one row per layer run)");
  if (rows.empty()) throw ConfigError(origin + ": the profile has a header but no rows");
  return rows;
}

std::vector<ProfileRow> read_profile_csv(const std::string& path) {
  return parse_profile_csv(read_file(path), path);
}

std::string profile_csv(const std::vector<ProfileRow>& rows) {
  std::ostringstream ss;
  ss << kProfileHeader << "\n";
  for (const ProfileRow& r : rows) {
    ss << r.op->name() << ',' << r.kh << ',' << r.kw << ',' << r.stride << ',' << r.h_in
       << ',' << r.w_in << ',' << r.c_in << ',' << r.h_out << ',' << r.w_out << ',' << r.c_out
       << ',' << r.macs << ',' << format_double(r.cycles) << "\n";
  }
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// NNLS (Lawson & Hanson, "Solving Least Squares Problems", 1974, ch. 23).

Eigen::VectorXd nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const int n = static_cast<int>(a.cols());
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  if (n == 0) return x;
  std::vector<bool> passive(n, false);
  const double tol = 10 * std::numeric_limits<double>::epsilon() * std::max(1.0, a.norm()) *
                     std::max<double>(a.rows(), a.cols());
  auto solve_passive = [&](Eigen::VectorXd* z) {
    std::vector<int> idx;
    for (int j = 0; j < n; ++j) {
      if (passive[j]) idx.push_back(j);
    }
    Eigen::MatrixXd ap(a.rows(), static_cast<Eigen::Index>(idx.size()));
    for (std::size_t k = 0; k < idx.size(); ++k) ap.col(k) = a.col(idx[k]);
    const Eigen::VectorXd zp = ap.colPivHouseholderQr().solve(b);
    z->setZero(n);
    for (std::size_t k = 0; k < idx.size(); ++k) (*z)(idx[k]) = zp(k);
  };
  Eigen::VectorXd w = a.transpose() * (b - a * x);
  for (int outer = 0; outer < 3 * n + 10; ++outer) {
    int jmax = -1;
    double wmax = tol;
    for (int j = 0; j < n; ++j) {
      if (!passive[j] && w(j) > wmax) {
        wmax = w(j);
        jmax = j;
      }
    }
    if (jmax < 0) break;
    passive[jmax] = true;
    Eigen::VectorXd z;
    for (int inner = 0; inner < 3 * n + 10; ++inner) {
      solve_passive(&z);
      bool all_positive = true;
      for (int j = 0; j < n; ++j) {
        if (passive[j] && z(j) <= 0) all_positive = false;
      }
      if (all_positive) {
        x = z;
        break;
      }
      double alpha = 1.0;
      for (int j = 0; j < n; ++j) {
        if (passive[j] && z(j) <= 0) alpha = std::min(alpha, x(j) / (x(j) - z(j)));
      }
      x += alpha * (z - x);
      for (int j = 0; j < n; ++j) {
        if (passive[j] && x(j) <= tol) {
          passive[j] = false;
          x(j) = 0;
        }
      }
    }
    w = a.transpose() * (b - a * x);
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// Fitting.

Calibration fit_latency_model(const std::vector<ProfileRow>& rows, const std::string& origin,
                              const LatencyModel* previous) {
  Calibration cal;
  if (previous != nullptr) cal.model = *previous;
  cal.model.fitted_rows = static_cast<int64_t>(rows.size());
  cal.rows = static_cast<int>(rows.size());
  for (const OpDescriptor* kind : all_ops()) {
    const int k = kind->id();
    std::vector<const ProfileRow*> mine;
    for (const ProfileRow& r : rows) {
      if (r.op == kind) mine.push_back(&r);
    }
    OpFit& fit = cal.ops[k];
    fit.rows = static_cast<int>(mine.size());
    const int nf = latency_features_used(*kind);
    if (mine.empty()) continue;  // keeps `previous`'s coefficients, or stays uncalibrated
    if (static_cast<int>(mine.size()) < nf) {
      std::string names;
      for (int f = 0; f < kNumLatencyFeatures; ++f) {
        if (kind->latency_feature_used(f)) names += std::string(names.empty() ? "" : ", ") + latency_feature_name(f);
      }
      throw ConfigError(origin + ":" + std::to_string(mine.front()->line) + ": op kind '" +
                        kind->name() + "' has " + std::to_string(mine.size()) +
                        (mine.size() == 1 ? " row" : " rows") + "; fitting its " +
                        std::to_string(nf) + " coefficients (" + names + ") needs at least " +
                        std::to_string(nf) + " rows of different shapes");
    }
    // Rows weighted by 1/cycles (relative error); columns scaled to unit norm.
    Eigen::MatrixXd a(static_cast<Eigen::Index>(mine.size()), nf);
    Eigen::VectorXd b(static_cast<Eigen::Index>(mine.size()));
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const LatencyFeatures f = mine[i]->features();
      int c = 0;
      for (int j = 0; j < kNumLatencyFeatures; ++j) {
        if (kind->latency_feature_used(j)) a(i, c++) = f[j] / mine[i]->cycles;
      }
      b(i) = 1.0;
    }
    Eigen::VectorXd scale(nf);
    for (int c = 0; c < nf; ++c) {
      scale(c) = a.col(c).norm();
      if (scale(c) <= 0) scale(c) = 1;
      a.col(c) /= scale(c);
    }
    const Eigen::VectorXd x = nnls(a, b);
    int c = 0;
    for (int j = 0; j < kNumLatencyFeatures; ++j) {
      if (kind->latency_feature_used(j)) {
        cal.model.coef[k][j] = x(c) / scale(c);
        ++c;
      } else {
        cal.model.coef[k][j] = 0.0;
      }
    }
    fit.fitted = true;
    cal.model.calibrated[k] = 1;
  }
  // Errors.
  double sum_abs = 0, meas = 0, pred = 0;
  for (const ProfileRow& r : rows) {
    const double p = cal.model.cycles(*r.op, r.features());
    OpFit& fit = cal.ops[r.op->id()];
    const double e = std::abs(p - r.cycles) / r.cycles * 100.0;
    fit.row_error_pct += e;
    fit.measured_cycles += r.cycles;
    fit.predicted_cycles += p;
    sum_abs += e;
    meas += r.cycles;
    pred += p;
  }
  for (OpFit& fit : cal.ops) {
    if (fit.rows > 0) fit.row_error_pct /= fit.rows;
  }
  cal.row_error_pct = rows.empty() ? 0 : sum_abs / static_cast<double>(rows.size());
  cal.network_error_pct = meas > 0 ? std::abs(pred - meas) / meas * 100.0 : 0;
  cal.model.fit_row_error_pct = cal.row_error_pct;
  cal.model.fit_network_error_pct = cal.network_error_pct;
  return cal;
}

}  // namespace tinynas
