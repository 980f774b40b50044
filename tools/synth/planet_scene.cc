#include "tools/synth/planet_scene.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "opencv2/imgproc.hpp"
#include "tools/synth/random.h"
#include "tools/synth/region_style.h"

namespace geoloc::synth {
namespace {

enum class Climate { kPolar, kBoreal, kTemperate, kContinental, kMediterranean, kArid, kTropical };

// The climate of each built-in region (geography.h's order), from where its anchor cities lie.
Climate RegionClimate(int region) {
  static constexpr Climate kClimates[kMaxRegions] = {
      Climate::kPolar,         Climate::kTropical,    Climate::kBoreal,      Climate::kTemperate,
      Climate::kTemperate,     Climate::kContinental, Climate::kTropical,    Climate::kTropical,
      Climate::kTropical,      Climate::kArid,        Climate::kMediterranean, Climate::kTropical,
      Climate::kContinental,   Climate::kMediterranean, Climate::kTropical,  Climate::kContinental};
  return region >= 0 && region < kMaxRegions ? kClimates[region] : Climate::kTemperate;
}

enum TreeKind { kConifer, kBroadleaf, kPalm, kNumTreeKinds };
enum Landmark {
  kDomedTowerLandmark,
  kSpireLandmark,
  kStatueLandmark,
  kClockTowerLandmark,
  kGateLandmark,
  kStupaLandmark,
  kObeliskLandmark,
  kNumLandmarks
};

struct PlanetRegionStyle {
  RegionStyle base;
  std::array<double, kNumTreeKinds> tree_weights;
  double trees = 0;  // trees around 360 degrees, before the neighbourhood's factor
  Color ground;
  double foliage_hue_lo = 80, foliage_hue_hi = 130, foliage_sat = 0.6, foliage_val = 0.45;
};

PlanetRegionStyle MakePlanetRegionStyle(uint64_t seed, int region) {
  PlanetRegionStyle s;
  s.base = MakeRegionStyle(seed, region);
  s.base.kind_weights[kTree] = 0;  // trees are drawn by climate below
  Rng rng(StreamSeed(seed, Stream::kRegionStyle, static_cast<uint64_t>(region), 1));
  struct ClimateLook {
    Color grounds[2];
    double tree_weights[kNumTreeKinds];
    double trees;
    double hue_lo, hue_hi, sat, val;
  };
  static const ClimateLook kLooks[] = {
      {{{110, 120, 125}, {150, 155, 150}}, {1, 0, 0}, 4, 100, 140, 0.45, 0.3},     // polar
      {{{60, 100, 70}, {80, 110, 95}}, {0.8, 0.2, 0}, 14, 95, 135, 0.55, 0.32},    // boreal
      {{{60, 140, 70}, {90, 120, 110}}, {0.2, 0.8, 0}, 12, 80, 125, 0.6, 0.45},    // temperate
      {{{70, 130, 90}, {90, 140, 150}}, {0.4, 0.6, 0}, 12, 75, 130, 0.55, 0.42},   // continental
      {{{90, 170, 200}, {110, 150, 170}}, {0.2, 0.6, 0.2}, 8, 60, 90, 0.35, 0.42}, // mediterranean
      {{{140, 190, 215}, {60, 90, 170}}, {0, 0.3, 0.7}, 4, 65, 95, 0.45, 0.4},     // arid
      {{{50, 150, 60}, {50, 80, 160}}, {0, 0.5, 0.5}, 18, 75, 120, 0.75, 0.5},     // tropical
  };
  const ClimateLook& look = kLooks[static_cast<int>(RegionClimate(region))];
  const int ground = rng.UniformInt(0, 1);
  s.ground = Jitter(rng, look.grounds[ground], 18);
  for (int k = 0; k < kNumTreeKinds; ++k) s.tree_weights[k] = look.tree_weights[k];
  s.trees = look.trees * rng.Uniform(0.7, 1.3);
  s.foliage_hue_lo = look.hue_lo;
  s.foliage_hue_hi = look.hue_hi;
  s.foliage_sat = look.sat;
  s.foliage_val = look.val;
  return s;
}

struct CityStyle {
  std::array<double, kNumKinds> kind_weights;
  std::array<double, kNumRoofs> roof_weights;
  std::array<Color, 5> palette;
  Color roof;
  int window_shape = 0;
  Color window, window_light;
  double window_period = 10, window_fill = 0.5, window_aspect = 1.2;
  double stripe_period = 6, stripe_contrast = 0;
  std::array<Color, 2> sign;
  int script = 0;  // 0 bars, 1 blocks, 2 rings, 3 dashes
  double sign_rate = 0.5;
  int lamp_style = 0;  // 0 arm and lantern, 1 globe, 2 double arm, 3 slim LED
  Color lamp_paint;
  double lamp_spacing = 0.04;  // fraction of the panorama between lamps
  Color marking, kerb;
  CityLook look;
};

CityStyle MakeCityStyle(uint64_t seed, const PlanetRegionStyle& region, int city) {
  Rng rng(StreamSeed(seed, Stream::kCityStyle, static_cast<uint64_t>(city)));
  const RegionStyle& r = region.base;
  CityStyle s;
  s.kind_weights = r.kind_weights;
  const int favourite = rng.UniformInt(0, kNumKinds - 1);
  if (favourite != kTree) s.kind_weights[favourite] += rng.Uniform(1, 2.5);
  s.roof_weights = r.roof_weights;
  s.roof_weights[rng.UniformInt(0, kNumRoofs - 1)] += rng.Uniform(1, 2.5);
  // The region's palette turned and re-saturated: related to its neighbours, not the same.
  const double turn = rng.Uniform(-40, 40);
  const double saturate = rng.Uniform(0.7, 1.3);
  for (int k = 0; k < 5; ++k) {
    cv::Mat one(1, 1, CV_32FC3, cv::Scalar(r.palette[k][0], r.palette[k][1], r.palette[k][2]));
    cv::Mat hsv;
    cv::cvtColor(one / 255.0, hsv, cv::COLOR_BGR2HSV);
    const cv::Vec3f v = hsv.at<cv::Vec3f>(0, 0);
    s.palette[k] = Jitter(rng, Hsv(v[0] + turn, v[1] * saturate, v[2]), 8);
  }
  s.roof = Jitter(rng, r.roof, 35);
  s.window_shape = rng.Bernoulli(0.5) ? r.window_shape : rng.UniformInt(0, 2);
  s.window = Jitter(rng, r.window, 30);
  s.window_light = rng.Bernoulli(0.6) ? Color(110, 200, 255) : Color(220, 235, 250);
  s.window_period = r.window_period * rng.Uniform(0.75, 1.3);
  s.window_fill = std::clamp(r.window_fill * rng.Uniform(0.8, 1.25), 0.3, 0.8);
  s.window_aspect = r.window_aspect * rng.Uniform(0.8, 1.25);
  s.stripe_period = r.stripe_period * rng.Uniform(0.7, 1.4);
  s.stripe_contrast = rng.Bernoulli(0.5) ? rng.Uniform(0.06, 0.25) : r.stripe_contrast;
  s.sign[0] = RandomHsv(rng, 0, 360, 0.6, 1.0, 0.6, 1.0);
  s.sign[1] = RandomHsv(rng, 0, 360, 0.0, 0.4, 0.85, 1.0);
  s.script = rng.UniformInt(0, 3);
  s.sign_rate = rng.Uniform(0.25, 0.9);
  s.lamp_style = rng.UniformInt(0, 3);
  static const Color kPaints[] = {{30, 30, 30}, {40, 80, 30}, {120, 120, 120}, {110, 60, 20},
                                  {20, 20, 120}};
  s.lamp_paint = Jitter(rng, kPaints[rng.UniformInt(0, 4)], 10);
  s.lamp_spacing = rng.Uniform(0.05, 0.1);
  s.marking = rng.Bernoulli(0.6) ? Color(235, 235, 235) : Color(40, 200, 240);
  s.kerb = Jitter(rng, Color(150, 150, 150), 40);
  s.look = MakeCityLook(seed, city);
  return s;
}

struct NeighbourhoodStyle {
  int near_count = 16, far_count = 20;
  double height_scale = 1;
  double tree_factor = 1;
  GroundPattern pavement = kTiles;
  double pavement_period = 10;
  Color pavement_tint;
  std::array<int, 2> favoured = {0, 1};
  Color awning;
  double awning_rate = 0.3;
  double house_bias = 0;
};

NeighbourhoodStyle MakeNeighbourhoodStyle(uint64_t seed, const World& world, int id,
                                          const PlanetRegionStyle& region) {
  Rng rng(StreamSeed(seed, Stream::kNeighbourhoodStyle, static_cast<uint64_t>(id)));
  const Neighbourhood& n = world.neighbourhoods[id];
  NeighbourhoodStyle s;
  // Denser and taller towards the centre, as cities are.
  const double d = n.centre_distance_km;
  const double urban = std::clamp(1.0 - d / 8.0, 0.0, 1.0);
  s.near_count = static_cast<int>(8 + 18 * urban + rng.Uniform(-3, 3));
  s.far_count = static_cast<int>(8 + 24 * urban + rng.Uniform(-4, 4));
  s.height_scale = (0.55 + 1.1 * urban) * rng.Uniform(0.8, 1.25);
  s.tree_factor = rng.Uniform(0.3, 1.8) * (1.4 - 0.8 * urban);
  static constexpr GroundPattern kPavements[] = {kFurrows, kTiles, kScatter, kRoad};
  s.pavement = kPavements[rng.UniformInt(0, 3)];
  s.pavement_period = rng.Uniform(5, 16);
  s.pavement_tint = Jitter(rng, Mix(region.ground, Color(120, 120, 120), rng.Uniform(0.2, 0.7)), 15);
  s.favoured[0] = rng.UniformInt(0, 4);
  s.favoured[1] = rng.UniformInt(0, 4);
  s.awning = RandomHsv(rng, 0, 360, 0.4, 0.9, 0.4, 0.9);
  s.awning_rate = rng.Uniform(0, 0.7);
  s.house_bias = (1 - urban) * rng.Uniform(0.5, 2.5);
  return s;
}

// The panorama's layers and drawing that wraps around the 360-degree seam.
class Canvas {
 public:
  explicit Canvas(Panorama& pano) : p_(pano), w_(pano.color.cols), h_(pano.color.rows) {}
  int width() const { return w_; }
  int height() const { return h_; }

  // depth: 0 near .. 250 far for an opaque structure, which also hides whatever snow, leaves and
  // lights lay behind it (its own are drawn after it); -1 for a detail on a surface (a window, a
  // sign), which leaves the layers alone.
  void Rect(double x0, double y0, double x1, double y1, const Color& c, int depth) {
    Wrapped(x0, x1, [&](double dx) {
      FillRect(p_.color, x0 + dx, y0, x1 + dx, y1, c);
      if (depth < 0) return;
      MaskRect(p_.depth, x0 + dx, y0, x1 + dx, y1, depth);
      for (cv::Mat* m : {&p_.snow, &p_.foliage}) MaskRect(*m, x0 + dx, y0, x1 + dx, y1, 0);
      cv::rectangle(p_.emission, P(x0 + dx, y0), P(x1 + dx, y1), cv::Scalar::all(0), cv::FILLED);
    });
  }
  void Poly(const std::vector<cv::Point2d>& pts, const Color& c, int depth) {
    double lo = pts[0].x, hi = pts[0].x;
    for (const auto& q : pts) lo = std::min(lo, q.x), hi = std::max(hi, q.x);
    Wrapped(lo, hi, [&](double dx) {
      const std::vector<cv::Point> shifted = Shift(pts, dx);
      FillPoly(p_.color, shifted, c);
      if (depth < 0) return;
      const std::vector<std::vector<cv::Point>> polys{shifted};
      cv::fillPoly(p_.depth, polys, cv::Scalar(depth), cv::LINE_8);
      for (cv::Mat* m : {&p_.snow, &p_.foliage}) cv::fillPoly(*m, polys, cv::Scalar(0), cv::LINE_8);
      cv::fillPoly(p_.emission, polys, cv::Scalar::all(0), cv::LINE_8);
    });
  }
  void Ellipse(double cx, double cy, double rx, double ry, double from, double to, const Color& c,
               int depth) {
    Wrapped(cx - rx, cx + rx, [&](double dx) {
      const cv::Size axes(std::max(1, static_cast<int>(rx)), std::max(1, static_cast<int>(ry)));
      cv::ellipse(p_.color, P(cx + dx, cy), axes, 0, from, to, ToScalar(c), cv::FILLED,
                  cv::LINE_AA);
      if (depth < 0) return;
      cv::ellipse(p_.depth, P(cx + dx, cy), axes, 0, from, to, cv::Scalar(depth), cv::FILLED,
                  cv::LINE_8);
      for (cv::Mat* m : {&p_.snow, &p_.foliage}) {
        cv::ellipse(*m, P(cx + dx, cy), axes, 0, from, to, cv::Scalar(0), cv::FILLED, cv::LINE_8);
      }
      cv::ellipse(p_.emission, P(cx + dx, cy), axes, 0, from, to, cv::Scalar::all(0), cv::FILLED,
                  cv::LINE_8);
    });
  }
  void Line(double x0, double y0, double x1, double y1, const Color& c, int thickness) {
    Wrapped(std::min(x0, x1), std::max(x0, x1), [&](double dx) {
      cv::line(p_.color, P(x0 + dx, y0), P(x1 + dx, y1), ToScalar(c), std::max(1, thickness),
               cv::LINE_AA);
    });
  }
  // Masks: what glows at night, leaves, where snow settles.
  void Glow(double x0, double y0, double x1, double y1, const Color& c) {
    Wrapped(x0, x1, [&](double dx) { FillRect(p_.emission, x0 + dx, y0, x1 + dx, y1, c); });
  }
  void GlowCircle(double cx, double cy, double r, const Color& c) {
    Wrapped(cx - r, cx + r, [&](double dx) {
      cv::circle(p_.emission, P(cx + dx, cy), std::max(1, static_cast<int>(r)), ToScalar(c),
                 cv::FILLED, cv::LINE_AA);
    });
  }
  void SnowRect(double x0, double y0, double x1, double y1) {
    Wrapped(x0, x1, [&](double dx) { MaskRect(p_.snow, x0 + dx, y0, x1 + dx, y1, 255); });
  }
  // value 255: snow settles there; 0: it does not (a cleared road).
  void SnowPoly(const std::vector<cv::Point2d>& pts, int value = 255) {
    double lo = pts[0].x, hi = pts[0].x;
    for (const auto& q : pts) lo = std::min(lo, q.x), hi = std::max(hi, q.x);
    Wrapped(lo, hi, [&](double dx) {
      cv::fillPoly(p_.snow, std::vector<std::vector<cv::Point>>{Shift(pts, dx)},
                   cv::Scalar(value), cv::LINE_8);
    });
  }
  void Leaves(const std::vector<cv::Point2d>& pts, const Color& c, int depth) {
    Poly(pts, c, depth);
    double lo = pts[0].x, hi = pts[0].x;
    for (const auto& q : pts) lo = std::min(lo, q.x), hi = std::max(hi, q.x);
    Wrapped(lo, hi, [&](double dx) {
      cv::fillPoly(p_.foliage, std::vector<std::vector<cv::Point>>{Shift(pts, dx)},
                   cv::Scalar(255), cv::LINE_8);
    });
  }
  void LeafCircle(double cx, double cy, double r, const Color& c, int depth) {
    Ellipse(cx, cy, r, r, 0, 360, c, depth);
    Wrapped(cx - r, cx + r, [&](double dx) {
      cv::circle(p_.foliage, P(cx + dx, cy), std::max(1, static_cast<int>(r)), cv::Scalar(255),
                 cv::FILLED, cv::LINE_8);
    });
  }

 private:
  template <typename F>
  void Wrapped(double lo, double hi, F&& f) {
    f(0.0);
    if (hi > w_) f(-static_cast<double>(w_));
    if (lo < 0) f(static_cast<double>(w_));
  }
  static std::vector<cv::Point> Shift(const std::vector<cv::Point2d>& pts, double dx) {
    std::vector<cv::Point> out;
    out.reserve(pts.size());
    for (const auto& q : pts) out.push_back(P(q.x + dx, q.y));
    return out;
  }
  static void MaskRect(cv::Mat& m, double x0, double y0, double x1, double y1, int value) {
    cv::rectangle(m, P(x0, y0), P(x1, y1), cv::Scalar(value), cv::FILLED, cv::LINE_8);
  }

  Panorama& p_;
  const int w_, h_;
};

// A typical view is about this share of the panorama's height: heights drawn as a share of a
// view are scaled by it.
constexpr double kViewHeight = 0.55;

struct Item {
  enum Type { kBuilding, kTreeItem, kLandmarkItem } type;
  double x, depth;  // depth 0 far .. 1 near
  double width, height;
  int kind;  // Kind, TreeKind or Landmark
  Roof roof;
  Color body, roof_color;
};

class PanoramaDrawer {
 public:
  PanoramaDrawer(const PlanetRegionStyle& region, const CityStyle& city,
                 const NeighbourhoodStyle& nbhd, const Place& place, Panorama& pano, Rng& rng)
      : r_(region),
        s_(region.base),
        c_(city),
        n_(nbhd),
        place_(place),
        pano_(pano),
        canvas_(pano),
        rng_(rng),
        w_(pano.color.cols),
        h_(pano.color.rows),
        u_(pano.color.rows / 300.0) {}

  void Draw() {
    horizon_ = rng_.Uniform(0.5, 0.58) * h_;
    pano_.horizon = horizon_;
    sky_top_ = Jitter(rng_, s_.sky_top, 12);
    sky_bottom_ = Jitter(rng_, s_.sky_bottom, 12);
    ground_ = Jitter(rng_, r_.ground, 10);
    accent_[0] = RandomHsv(rng_, 0, 360, 0.55, 1.0, 0.55, 1.0);
    accent_[1] = RandomHsv(rng_, 0, 360, 0.45, 1.0, 0.35, 0.95);
    DrawSky();
    if (s_.mountains) DrawMountains();
    DrawGround();
    DrawStreet(place_.street_heading_deg);
    DrawStreet(place_.street_heading_deg + 180);
    DrawItems();
    DrawLamps();
    Shade();
  }

 private:
  double XOf(double heading_deg) const {
    double x = std::fmod(heading_deg, 360.0);
    if (x < 0) x += 360;
    return x / 360.0 * w_;
  }
  // Within `deg` degrees of either direction of the street.
  bool OnStreet(double x, double deg) const {
    for (double h : {place_.street_heading_deg, place_.street_heading_deg + 180}) {
      double d = std::fabs(x - XOf(h));
      d = std::min(d, w_ - d);
      if (d < deg / 360.0 * w_) return true;
    }
    return false;
  }
  static int DepthValue(double depth) {  // item depth 0 far .. 1 near -> layer value
    return static_cast<int>(std::lround(200 - 190 * std::clamp(depth, 0.0, 1.0)));
  }
  double BaseY(double depth) const { return horizon_ + (0.08 + 0.5 * depth) * (h_ - horizon_); }

  void DrawSky() {
    const int horizon = static_cast<int>(horizon_);
    for (int y = 0; y < h_; ++y) {
      Color c;
      int depth = 255;
      if (y < horizon) {
        c = Mix(sky_top_, sky_bottom_, static_cast<double>(y) / std::max(1, horizon));
      } else {
        const double t = static_cast<double>(y - horizon) / std::max(1, h_ - horizon);
        c = Mix(Mix(ground_, sky_bottom_, 0.3), Scale(ground_, 0.85), t);
        depth = 1 + static_cast<int>(249 * (1 - t));  // 0 is reserved for occluders
      }
      pano_.color.row(y).setTo(ToScalar(c));
      pano_.depth.row(y).setTo(cv::Scalar(depth));
      if (y >= horizon) pano_.snow.row(y).setTo(cv::Scalar(255));
    }
    const int clouds = rng_.UniformInt(2, 10);
    for (int i = 0; i < clouds; ++i) {
      const double cx = rng_.Uniform(0, w_), cy = rng_.Uniform(0.08, 0.7) * horizon_;
      const Color c = Mix(Mix(sky_top_, sky_bottom_, cy / horizon_), Color(250, 250, 250), 0.55);
      const int puffs = rng_.UniformInt(3, 6);
      const double size = rng_.Uniform(8, 22) * u_;
      for (int k = 0; k < puffs; ++k) {
        const double dy = rng_.Uniform(-0.3, 0.3) * size;
        canvas_.Ellipse(cx + (k - puffs / 2.0) * size * 0.9, cy + dy, size, size * 0.55, 0, 360,
                        c, 255);
      }
    }
  }

  void DrawMountains() {
    // A ridge periodic in x: sums of sines with whole numbers of periods around 360 degrees.
    for (int layer = 0; layer < 2; ++layer) {
      const Color c =
          Jitter(rng_, layer == 0 ? Mix(s_.mountain, sky_bottom_, 0.5) : s_.mountain, 8);
      const double max_rise = (layer == 0 ? 0.22 : 0.14) * horizon_;
      double amp[3], phase[3];
      for (int k = 0; k < 3; ++k) {
        amp[k] = rng_.Uniform(0.2, 1.0);
        phase[k] = rng_.Uniform(0, 2 * kPi);
      }
      std::vector<cv::Point2d> pts{{0, horizon_ + 1}};
      const int steps = 96;
      for (int i = 0; i <= steps; ++i) {
        const double t = 2 * kPi * i / steps;
        double rise = 0;
        for (int k = 0; k < 3; ++k) rise += amp[k] * (0.5 + 0.5 * std::sin((k + 2) * t + phase[k]));
        pts.push_back({w_ * static_cast<double>(i) / steps, horizon_ - max_rise * rise / 3.0});
      }
      pts.push_back({static_cast<double>(w_), horizon_ + 1});
      canvas_.Poly(pts, c, 245);
    }
  }

  void DrawGround() {
    const Color accent = Jitter(rng_, Mix(n_.pavement_tint, ground_, 0.3), 10);
    const double depth = h_ - horizon_;
    const double period = n_.pavement_period * u_;
    switch (n_.pavement) {
      case kFurrows:
      case kTiles: {
        const int rows = std::max(3, static_cast<int>(depth / period));
        for (int i = 1; i <= rows; ++i) {
          const double t = static_cast<double>(i) / rows;
          const double y = horizon_ + depth * t * t;
          canvas_.Line(0, y, w_, y, accent, static_cast<int>(t * 3 * u_));
        }
        if (n_.pavement == kTiles) {
          for (double x = 0; x < w_; x += period * 4) {
            canvas_.Line(x, horizon_ + depth * 0.3, x + period * 2, h_, accent,
                         static_cast<int>(u_));
          }
        }
        break;
      }
      case kScatter: {
        const int blobs = static_cast<int>(w_ / (period * 3));
        for (int i = 0; i < blobs; ++i) {
          const double t = rng_.Uniform(0.02, 1.0);
          const double size = (1 + t * 4) * period * 0.3;
          const double x = rng_.Uniform(0, w_);
          const Color c = Jitter(rng_, accent, 12);
          canvas_.Ellipse(x, horizon_ + depth * t, size, size * 0.4 + 1, 0, 360, c, -1);
        }
        break;
      }
      case kRoad:
      default: {
        // Plain paving with a kerb line near the viewer.
        const double y = horizon_ + depth * 0.55;
        canvas_.Rect(0, y, w_, h_, Mix(ground_, n_.pavement_tint, 0.6), -1);
        canvas_.Line(0, y, w_, y, c_.kerb, static_cast<int>(2 * u_));
        break;
      }
    }
  }

  void DrawStreet(double heading) {
    const double vx = XOf(heading);
    const double depth = h_ - horizon_;
    const double half = 0.045 * w_;
    const Color asphalt = Jitter(rng_, Mix(ground_, Color(85, 85, 85), 0.8), 6);
    const std::vector<cv::Point2d> road = {
        {vx - 2 * u_, horizon_}, {vx + 2 * u_, horizon_}, {vx + half, double(h_)},
        {vx - half, double(h_)}};
    canvas_.Poly(road, asphalt, -1);
    canvas_.SnowPoly(road, 0);  // the road is cleared
    for (int i = 0; i < 7; ++i) {
      const double t0 = (i + 0.2) / 7, t1 = (i + 0.6) / 7;
      canvas_.Line(vx, horizon_ + depth * t0 * t0, vx, horizon_ + depth * t1 * t1, c_.marking,
                   static_cast<int>(t1 * 4 * u_));
    }
    for (double side : {-1.0, 1.0}) {
      canvas_.Line(vx + side * 2 * u_, horizon_, vx + side * half, h_, c_.kerb,
                   static_cast<int>(2 * u_));
    }
  }

  void DrawItems() {
    std::vector<Item> items;
    // The far row: a skyline, muted by distance.
    for (int i = 0; i < n_.far_count; ++i) {
      Item it = NewBuilding(rng_.Uniform(0.0, 0.35));
      it.width *= 0.7;
      it.body = Mix(it.body, sky_bottom_, 0.35);
      it.roof_color = Mix(it.roof_color, sky_bottom_, 0.35);
      items.push_back(it);
    }
    // The near row along the street, leaving the street itself open.
    for (int i = 0; i < n_.near_count; ++i) {
      Item it = NewBuilding(rng_.Uniform(0.45, 0.95));
      if (OnStreet(it.x, 14)) continue;
      items.push_back(it);
    }
    const int trees = static_cast<int>(r_.trees * n_.tree_factor);
    for (int i = 0; i < trees; ++i) {
      Item it;
      it.type = Item::kTreeItem;
      it.kind = PickWeighted(rng_, r_.tree_weights.data(), kNumTreeKinds);
      it.x = rng_.Uniform(0, w_);
      it.depth = rng_.Uniform(0.3, 1.0);
      it.width = rng_.Uniform(0.012, 0.025) * w_;
      it.height = rng_.Uniform(0.18, 0.35) * kViewHeight * h_;
      it.body = Jitter(rng_, RandomHsv(rng_, r_.foliage_hue_lo, r_.foliage_hue_hi,
                                       r_.foliage_sat - 0.1, r_.foliage_sat + 0.1,
                                       r_.foliage_val - 0.08, r_.foliage_val + 0.08),
                       10);
      it.roof = kFlat;
      if (OnStreet(it.x, 8)) continue;
      items.push_back(it);
    }
    // The landmark, at its heading, near and large, in the place's own colours.
    Item lm;
    lm.type = Item::kLandmarkItem;
    lm.kind = rng_.UniformInt(0, kNumLandmarks - 1);
    lm.x = XOf(place_.landmark_heading_deg);
    lm.depth = rng_.Uniform(0.8, 1.0);
    lm.width = rng_.Uniform(0.035, 0.06) * w_;
    lm.height = rng_.Uniform(0.35, 0.55) * kViewHeight * h_;
    lm.body = accent_[0];
    lm.roof_color = accent_[1];
    lm.roof = kDome;
    items.push_back(lm);
    std::stable_sort(items.begin(), items.end(),
                     [](const Item& a, const Item& b) { return a.depth < b.depth; });
    for (const Item& it : items) {
      switch (it.type) {
        case Item::kBuilding:
          DrawBuilding(it);
          break;
        case Item::kTreeItem:
          DrawTree(it);
          break;
        case Item::kLandmarkItem:
          DrawLandmark(it);
          break;
      }
    }
  }

  Item NewBuilding(double depth) {
    Item it;
    it.type = Item::kBuilding;
    std::array<double, kNumKinds> weights = c_.kind_weights;
    weights[kHouse] += n_.house_bias;
    it.kind = PickWeighted(rng_, weights.data(), kNumKinds);
    it.roof = static_cast<Roof>(PickWeighted(rng_, c_.roof_weights.data(), kNumRoofs));
    it.x = rng_.Uniform(0, w_);
    it.depth = depth;
    it.width = rng_.Uniform(s_.width_lo, s_.width_hi) * w_ / 5.0;
    it.height = rng_.Uniform(s_.height_lo, s_.height_hi) * kViewHeight * h_ * n_.height_scale;
    const bool favoured = rng_.Bernoulli(0.6);
    const int pick = rng_.UniformInt(0, 4);
    const int colour = favoured ? n_.favoured[rng_.UniformInt(0, 1)] : pick;
    it.body = Jitter(rng_, c_.palette[colour], 14);
    it.roof_color = Jitter(rng_, c_.roof, 14);
    return it;
  }

  void DrawBuilding(const Item& it) {
    const double scale = 0.6 + 0.8 * it.depth;
    const double base = BaseY(it.depth);
    double w = it.width * scale, h = std::min(it.height * scale, base - 0.03 * h_);
    const int depth = DepthValue(it.depth);
    switch (it.kind) {
      case kTower:
        w *= 0.5;
        h = std::min(h * 1.6, base - 0.03 * h_);
        break;
      case kHouse:
        w *= 0.9;
        h *= 0.4;
        break;
      case kDomeHall:
        w *= 1.3;
        h *= 0.5;
        break;
      case kArch:
        w *= 1.1;
        h *= 0.6;
        break;
      default:
        break;
    }
    const double x0 = it.x - w / 2, x1 = it.x + w / 2, top = base - h;
    canvas_.Rect(x0, top, x1, base, it.body, depth);
    Stripes(x0, top, x1, base, it.body);
    Windows(x0, top + h * 0.06, x1, base - h * 0.12, it.kind == kHouse ? 2 : 0, it.depth);
    if (it.depth > 0.45) Storefront(x0, x1, base, h, it.depth);
    const double rh = std::min(w, h) * 0.35;
    const Roof roof = it.kind == kHouse ? kGable : it.kind == kDomeHall ? kDome : it.roof;
    switch (roof) {
      case kFlat:
        canvas_.Rect(x0 - w * 0.03, top - h * 0.03, x1 + w * 0.03, top, Scale(it.body, 0.7),
                     depth);
        canvas_.SnowRect(x0 - w * 0.03, top - h * 0.03, x1 + w * 0.03, top);
        break;
      case kGable: {
        const std::vector<cv::Point2d> pts = {{x0 - w * 0.06, top}, {x1 + w * 0.06, top},
                                              {it.x, top - rh}};
        canvas_.Poly(pts, it.roof_color, depth);
        canvas_.SnowPoly(pts);
        break;
      }
      case kDome:
        canvas_.Ellipse(it.x, top, w * 0.42, rh, 180, 360, it.roof_color, depth);
        break;
      case kSpire:
        canvas_.Poly({{it.x - w * 0.2, top}, {it.x + w * 0.2, top}, {it.x, top - rh * 2.2}},
                     it.roof_color, depth);
        break;
      case kStepped:
      default:
        canvas_.Rect(it.x - w * 0.35, top - rh * 0.4, it.x + w * 0.35, top, Scale(it.body, 0.85),
                     depth);
        canvas_.Rect(it.x - w * 0.18, top - rh * 0.8, it.x + w * 0.18, top - rh * 0.4,
                     it.roof_color, depth);
        break;
    }
  }

  void Stripes(double x0, double y0, double x1, double y1, const Color& body) {
    if (c_.stripe_contrast <= 0) return;
    const double period = c_.stripe_period * u_;
    const Color c = Scale(body, 1.0 - c_.stripe_contrast);
    for (double y = y0 + period; y < y1; y += period) {
      canvas_.Line(x0, y, x1, y, c, static_cast<int>(period / 3));
    }
  }

  void Windows(double x0, double y0, double x1, double y1, int columns, double depth) {
    const double scale = 0.6 + 0.8 * depth;
    const double px = c_.window_period * u_ * scale;
    const double py = px * (0.5 + 0.6 * c_.window_aspect);
    const double ww = px * c_.window_fill, wh = ww * c_.window_aspect;
    if (x1 - x0 < 2 * px || y1 - y0 < 2 * py) return;
    int cols = static_cast<int>((x1 - x0 - px * 0.5) / px);
    if (columns > 0) cols = std::min(cols, columns);
    const double start_x = (x0 + x1) / 2 - (cols - 1) * px / 2;
    for (double y = y0 + py * 0.6; y + wh < y1; y += py) {
      for (int i = 0; i < cols; ++i) {
        const double x = start_x + i * px;
        const bool lit = rng_.Bernoulli(0.45);
        switch (c_.window_shape) {
          case 0:
            canvas_.Rect(x - ww / 2, y, x + ww / 2, y + wh, c_.window, -1);
            break;
          case 1:
            canvas_.Rect(x - ww / 2, y + ww / 2, x + ww / 2, y + wh, c_.window, -1);
            canvas_.Ellipse(x, y + ww / 2, ww / 2, ww / 2, 180, 360, c_.window, -1);
            break;
          default:
            canvas_.Ellipse(x, y + wh / 2, ww / 2, ww / 2, 0, 360, c_.window, -1);
            break;
        }
        if (lit) canvas_.Glow(x - ww / 2, y, x + ww / 2, y + wh, c_.window_light);
      }
    }
  }

  // A shop sign in the city's colours and script, and perhaps an awning.
  void Storefront(double x0, double x1, double base, double h, double depth) {
    const bool sign = rng_.Bernoulli(c_.sign_rate);
    const bool awning = rng_.Bernoulli(n_.awning_rate);
    const double sign_h = std::max(3.0, std::min(h * 0.12, 9 * u_ * (0.6 + 0.8 * depth)));
    const double y = base - h * 0.32;
    if (awning) {
      canvas_.Poly({{x0, y + sign_h}, {x1, y + sign_h}, {x1 + sign_h * 0.5, y + sign_h * 2.2},
                    {x0 - sign_h * 0.5, y + sign_h * 2.2}},
                   n_.awning, -1);
    }
    if (!sign) return;
    const double sx0 = x0 + (x1 - x0) * 0.12, sx1 = x1 - (x1 - x0) * 0.12;
    canvas_.Rect(sx0, y, sx1, y + sign_h, c_.sign[0], -1);
    canvas_.Glow(sx0, y, sx1, y + sign_h, Scale(c_.sign[0], 0.8));
    // Glyphs: the city's script.
    const double gh = sign_h * 0.6, gy = y + sign_h * 0.2;
    for (double x = sx0 + gh * 0.4; x + gh < sx1; x += gh * 0.9) {
      switch (c_.script) {
        case 0:
          canvas_.Rect(x, gy, x + gh * 0.2, gy + gh, c_.sign[1], -1);
          break;
        case 1:
          canvas_.Rect(x, gy + gh * 0.2, x + gh * 0.6, gy + gh * 0.8, c_.sign[1], -1);
          break;
        case 2:
          canvas_.Ellipse(x + gh * 0.3, gy + gh / 2, gh * 0.3, gh * 0.3, 0, 360, c_.sign[1], -1);
          break;
        default:
          canvas_.Line(x, gy + gh / 2, x + gh * 0.6, gy + gh / 2, c_.sign[1],
                       static_cast<int>(gh * 0.25));
          break;
      }
    }
  }

  void DrawTree(const Item& it) {
    const double scale = 0.6 + 0.8 * it.depth;
    const double base = BaseY(it.depth);
    const double w = it.width * scale, h = std::min(it.height * scale, base - 0.03 * h_);
    const int depth = DepthValue(it.depth);
    const Color trunk(40, 60, 90);
    canvas_.Rect(it.x - w * 0.06, base - h * 0.5, it.x + w * 0.06, base, trunk, depth);
    switch (it.kind) {
      case kConifer:
        for (int i = 0; i < 3; ++i) {
          const double y0 = base - h * (0.25 + 0.22 * i), half = w * (0.5 - 0.1 * i);
          const std::vector<cv::Point2d> pts = {
              {it.x - half, y0}, {it.x + half, y0}, {it.x, y0 - h * 0.4}};
          canvas_.Poly(pts, Scale(it.body, 1.0 - 0.08 * i), depth);  // evergreen: no seasons
          canvas_.SnowPoly({{it.x - half * 0.5, y0 - h * 0.2}, {it.x + half * 0.5, y0 - h * 0.2},
                            {it.x, y0 - h * 0.4}});
        }
        break;
      case kPalm: {
        canvas_.Rect(it.x - w * 0.04, base - h * 0.85, it.x + w * 0.04, base, trunk, depth);
        for (int i = 0; i < 5; ++i) {
          const double a = kPi * (0.1 + 0.2 * i);
          const double tip_x = it.x + std::cos(a) * w * 0.7, tip_y = base - h * 0.85 -
                                                                     std::sin(a) * h * 0.15;
          canvas_.Leaves({{it.x, base - h * 0.88}, {tip_x, tip_y}, {tip_x, tip_y + h * 0.06}},
                         it.body, depth);
        }
        break;
      }
      case kBroadleaf:
      default: {
        const double r = std::max(2.0, std::min(w * 0.55, h * 0.35));
        canvas_.LeafCircle(it.x, base - h * 0.65, r, it.body, depth);
        canvas_.LeafCircle(it.x + r * 0.35, base - h * 0.6, r * 0.55, Scale(it.body, 0.8), depth);
        canvas_.SnowRect(it.x - r * 0.6, base - h * 0.65 - r, it.x + r * 0.6,
                         base - h * 0.65 - r * 0.6);
        break;
      }
    }
  }

  void DrawLandmark(const Item& it) {
    const double base = BaseY(it.depth);
    const double w = it.width, h = std::min(it.height, base - 0.03 * h_);
    const double x0 = it.x - w / 2, x1 = it.x + w / 2, top = base - h;
    const int depth = DepthValue(it.depth);
    const Color shade = Scale(it.body, 0.7);
    switch (it.kind) {
      case kDomedTowerLandmark:
        canvas_.Rect(x0, top + h * 0.2, x1, base, it.body, depth);
        canvas_.Ellipse(it.x, top + h * 0.2, w * 0.5, h * 0.2, 180, 360, it.roof_color, depth);
        canvas_.Rect(it.x - w * 0.05, top, it.x + w * 0.05, top + h * 0.05, shade, depth);
        break;
      case kSpireLandmark:
        canvas_.Rect(x0, top + h * 0.45, x1, base, it.body, depth);
        canvas_.Poly({{x0, top + h * 0.45}, {x1, top + h * 0.45}, {it.x, top}}, it.roof_color,
                     depth);
        break;
      case kStatueLandmark:
        canvas_.Rect(x0, base - h * 0.35, x1, base, shade, depth);
        canvas_.Rect(it.x - w * 0.12, base - h * 0.85, it.x + w * 0.12, base - h * 0.35, it.body,
                     depth);
        canvas_.Ellipse(it.x, base - h * 0.9, w * 0.12, h * 0.06, 0, 360, it.body, depth);
        canvas_.Line(it.x, base - h * 0.75, it.x + w * 0.4, base - h, it.roof_color,
                     static_cast<int>(w * 0.06));
        break;
      case kClockTowerLandmark:
        canvas_.Rect(it.x - w * 0.25, top + h * 0.15, it.x + w * 0.25, base, it.body, depth);
        canvas_.Ellipse(it.x, top + h * 0.3, w * 0.18, w * 0.18, 0, 360, Color(240, 240, 235),
                        -1);
        canvas_.GlowCircle(it.x, top + h * 0.3, w * 0.18, Color(200, 230, 250));
        canvas_.Poly({{it.x - w * 0.3, top + h * 0.15}, {it.x + w * 0.3, top + h * 0.15},
                      {it.x, top}},
                     it.roof_color, depth);
        break;
      case kGateLandmark:
        canvas_.Rect(x0 - w * 0.3, top + h * 0.4, x1 + w * 0.3, base, it.body, depth);
        canvas_.Ellipse(it.x, base - h * 0.25, w * 0.35, h * 0.3, 180, 360, Scale(it.body, 0.25),
                        -1);
        canvas_.Rect(it.x - w * 0.35, base - h * 0.25, it.x + w * 0.35, base, Scale(it.body, 0.25),
                     -1);
        canvas_.Rect(x0 - w * 0.4, top + h * 0.32, x1 + w * 0.4, top + h * 0.4, it.roof_color,
                     depth);
        break;
      case kStupaLandmark:
        canvas_.Rect(x0 - w * 0.2, base - h * 0.2, x1 + w * 0.2, base, shade, depth);
        canvas_.Ellipse(it.x, base - h * 0.2, w * 0.55, h * 0.35, 180, 360, it.body, depth);
        canvas_.Poly({{it.x - w * 0.1, base - h * 0.5}, {it.x + w * 0.1, base - h * 0.5},
                      {it.x, top}},
                     it.roof_color, depth);
        break;
      case kObeliskLandmark:
      default:
        canvas_.Poly({{it.x - w * 0.15, base}, {it.x + w * 0.15, base},
                      {it.x + w * 0.08, top + h * 0.08}, {it.x, top},
                      {it.x - w * 0.08, top + h * 0.08}},
                     it.body, depth);
        canvas_.Rect(x0, base - h * 0.06, x1, base, it.roof_color, depth);
        break;
    }
    // Floodlit at night.
    canvas_.Glow(x0, top + h * 0.3, x1, base, Scale(it.body, 0.35));
  }

  void DrawLamps() {
    const double spacing = c_.lamp_spacing * w_;
    const double offset = rng_.Uniform(0, spacing);
    for (double x = offset; x < w_; x += spacing) {
      if (OnStreet(x, 6)) continue;
      const double depth = rng_.Uniform(0.85, 1.0);
      const double base = BaseY(depth);
      const double h = 0.22 * kViewHeight * h_ * (0.6 + 0.8 * depth);
      const double top = base - h;
      const int d = DepthValue(depth);
      const double pole = std::max(1.0, 1.2 * u_);
      canvas_.Rect(x - pole, top, x + pole, base, c_.lamp_paint, d);
      const double lamp = 3.5 * u_;
      switch (c_.lamp_style) {
        case 0:
          canvas_.Line(x, top, x + lamp * 2.5, top, c_.lamp_paint, static_cast<int>(pole * 1.5));
          canvas_.Rect(x + lamp * 2, top, x + lamp * 3, top + lamp * 1.3, c_.lamp_paint, d);
          canvas_.GlowCircle(x + lamp * 2.5, top + lamp, lamp * 0.8, c_.look.lamp_light);
          break;
        case 1:
          canvas_.Ellipse(x, top, lamp, lamp, 0, 360, Color(230, 235, 240), d);
          canvas_.GlowCircle(x, top, lamp * 1.1, c_.look.lamp_light);
          break;
        case 2:
          canvas_.Line(x - lamp * 2, top, x + lamp * 2, top, c_.lamp_paint,
                       static_cast<int>(pole * 1.5));
          for (double side : {-1.0, 1.0}) {
            canvas_.Ellipse(x + side * lamp * 2, top + lamp * 0.6, lamp * 0.7, lamp * 0.7, 0, 360,
                            Color(220, 230, 235), d);
            canvas_.GlowCircle(x + side * lamp * 2, top + lamp * 0.6, lamp * 0.8,
                               c_.look.lamp_light);
          }
          break;
        default:
          canvas_.Rect(x - lamp * 1.5, top - pole, x + lamp * 1.5, top + pole, c_.lamp_paint, d);
          canvas_.Glow(x - lamp * 1.2, top + pole, x + lamp * 1.2, top + pole * 2,
                       c_.look.lamp_light);
          break;
      }
    }
  }

  // Low-frequency lighting, periodic around 360 degrees.
  void Shade() {
    const int cols = 12;
    cv::Mat coarse(3, cols + 1, CV_32F);
    for (int y = 0; y < coarse.rows; ++y) {
      for (int x = 0; x < cols; ++x) {
        coarse.at<float>(y, x) = static_cast<float>(1.0 + rng_.Uniform(-s_.shading, s_.shading));
      }
      coarse.at<float>(y, cols) = coarse.at<float>(y, 0);
    }
    cv::Mat gain;
    cv::resize(coarse, gain, cv::Size(w_ + w_ / cols, h_), 0, 0, cv::INTER_LINEAR);
    ApplyGain(pano_.color, gain(cv::Rect(0, 0, w_, h_)));
  }

  const PlanetRegionStyle& r_;
  const RegionStyle& s_;
  const CityStyle& c_;
  const NeighbourhoodStyle& n_;
  const Place& place_;
  Panorama& pano_;
  Canvas canvas_;
  Rng& rng_;
  const int w_, h_;
  const double u_;
  double horizon_ = 0;
  Color sky_top_, sky_bottom_, ground_;
  std::array<Color, 2> accent_;
};

}  // namespace

CityLook MakeCityLook(uint64_t seed, int city) {
  Rng rng(StreamSeed(seed, Stream::kCityStyle, static_cast<uint64_t>(city), 1));
  Color taxis[] = {{20, 200, 250}, {30, 30, 30}, {240, 240, 240},
                   {60, 160, 60},  {40, 40, 200}, {200, 120, 40}};
  CityLook look;
  look.taxi = Jitter(rng, taxis[rng.UniformInt(0, 5)], 12);
  look.lamp_light = rng.Bernoulli(0.5) ? Color(90, 170, 255) : Color(235, 240, 245);
  return look;
}

cv::Size PanoramaSize(const WorldOptions& options) {
  const int width = 5 * options.image_width;
  return cv::Size(width, static_cast<int>(std::lround(0.27 * width)));
}

Panorama RenderPanorama(const WorldOptions& options, const World& world, int64_t place_id) {
  const Place& place = world.places[static_cast<size_t>(place_id)];
  const PlanetRegionStyle region = MakePlanetRegionStyle(options.seed, place.region);
  const CityStyle city = MakeCityStyle(options.seed, region, place.city);
  const NeighbourhoodStyle nbhd =
      MakeNeighbourhoodStyle(options.seed, world, place.neighbourhood, region);
  const cv::Size size = PanoramaSize(options);
  Panorama pano;
  pano.color.create(size, CV_8UC3);
  pano.depth.create(size, CV_8U);
  pano.emission = cv::Mat::zeros(size, CV_8UC3);
  pano.foliage = cv::Mat::zeros(size, CV_8U);
  pano.snow = cv::Mat::zeros(size, CV_8U);
  Rng rng(StreamSeed(options.seed, Stream::kPanorama, static_cast<uint64_t>(place_id)));
  PanoramaDrawer(region, city, nbhd, place, pano, rng).Draw();
  return pano;
}

}  // namespace geoloc::synth
