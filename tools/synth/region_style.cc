#include "tools/synth/region_style.h"

namespace geoloc::synth {

RegionStyle MakeRegionStyle(uint64_t seed, int region) {
  Rng rng(StreamSeed(seed, Stream::kRegionStyle, static_cast<uint64_t>(region)));
  RegionStyle s;
  // Sky: clear, dusk, overcast, tropical, hazy, deep blue (BGR top and bottom).
  static const Color kSkies[6][2] = {
      {{200, 120, 40}, {250, 210, 170}},  {{110, 50, 70}, {120, 170, 250}},
      {{150, 150, 145}, {205, 205, 200}}, {{220, 170, 20}, {240, 240, 200}},
      {{170, 190, 200}, {180, 230, 245}}, {{120, 40, 20}, {220, 150, 90}}};
  const int sky = rng.UniformInt(0, 5);
  s.sky_top = Jitter(rng, kSkies[sky][0], 25);
  s.sky_bottom = Jitter(rng, kSkies[sky][1], 25);
  // Ground: grass, sand, snow, asphalt, red earth, dark soil.
  static const Color kGrounds[6] = {{60, 140, 70}, {140, 190, 215}, {235, 235, 230},
                                    {95, 95, 95},  {60, 90, 170},   {50, 70, 90}};
  s.ground = Jitter(rng, kGrounds[rng.UniformInt(0, 5)], 25);
  s.ground_accent =
      Jitter(rng, rng.Bernoulli(0.5) ? Scale(s.ground, 0.6) : Scale(s.ground, 1.35), 20);
  // Palette: neighbouring hues around a base hue with a region-wide saturation and value.
  const double hue = rng.Uniform(0, 360);
  const double hue_step = rng.Uniform(8, 45);
  const double sat = rng.Uniform(0.15, 0.75);
  const double val = rng.Uniform(0.45, 0.9);
  for (int k = 0; k < 5; ++k) {
    s.palette[k] = RandomHsv(rng, hue + hue_step * (k - 2) - 6, hue + hue_step * (k - 2) + 6,
                             sat - 0.12, sat + 0.12, val - 0.15, val + 0.15);
  }
  s.roof = RandomHsv(rng, 0, 360, 0.2, 0.8, 0.25, 0.7);
  // Which structures the region builds: three favourites dominate.
  for (double& w : s.kind_weights) w = 0.15;
  for (int i = 0; i < 3; ++i) {
    const int kind = rng.UniformInt(0, kNumKinds - 1);
    s.kind_weights[kind] += rng.Uniform(1, 3);
  }
  for (double& w : s.roof_weights) w = 0.1;
  for (int i = 0; i < 2; ++i) {
    const int roof = rng.UniformInt(0, kNumRoofs - 1);
    s.roof_weights[roof] += rng.Uniform(1, 3);
  }
  s.horizon_lo = rng.Uniform(0.45, 0.62);
  s.horizon_hi = s.horizon_lo + 0.1;
  s.height_lo = rng.Uniform(0.14, 0.28);
  s.height_hi = s.height_lo + rng.Uniform(0.08, 0.3);
  s.width_lo = rng.Uniform(0.08, 0.14);
  s.width_hi = s.width_lo + rng.Uniform(0.04, 0.14);
  s.structures_lo = rng.UniformInt(3, 5);
  s.structures_hi = s.structures_lo + rng.UniformInt(1, 4);
  s.window_period = rng.Uniform(7, 18);
  s.window_fill = rng.Uniform(0.35, 0.7);
  s.window_aspect = rng.Uniform(0.8, 1.8);
  static const Color kWindows[4] = {{80, 200, 240}, {60, 40, 30}, {200, 170, 120}, {230, 230, 230}};
  s.window = Jitter(rng, kWindows[rng.UniformInt(0, 3)], 15);
  s.window_shape = rng.UniformInt(0, 2);
  s.stripe_period = rng.Uniform(3, 12);
  s.stripe_contrast = rng.Bernoulli(0.6) ? rng.Uniform(0.06, 0.25) : 0.0;
  s.ground_pattern = static_cast<GroundPattern>(rng.UniformInt(0, kNumGroundPatterns - 1));
  s.ground_period = rng.Uniform(6, 20);
  s.mountains = rng.Bernoulli(0.5);
  s.mountain = Mix(RandomHsv(rng, 0, 360, 0.1, 0.4, 0.25, 0.55), s.sky_bottom, 0.2);
  s.sun_probability = rng.Uniform(0.0, 0.8);
  // Mostly green, sometimes autumn.
  s.foliage = rng.Bernoulli(0.75) ? RandomHsv(rng, 70, 150, 0.4, 0.85, 0.3, 0.65)
                                  : RandomHsv(rng, 15, 45, 0.4, 0.85, 0.3, 0.65);
  s.conifers = rng.Bernoulli(0.5);
  s.trees_lo = rng.UniformInt(0, 2);
  s.trees_hi = s.trees_lo + rng.UniformInt(0, 4);
  s.shading = rng.Uniform(0.05, 0.15);
  return s;
}

}  // namespace geoloc::synth
