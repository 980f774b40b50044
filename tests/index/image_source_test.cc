#include "core/index/image_source.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/index/csv.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/forged_images.h"

namespace geoloc::index {
namespace {

using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::ExifGpsBlock;
using ::geoloc::testing::GpsTags;
using ::geoloc::testing::TiffRationals;
using ::geoloc::testing::WithJpegExif;
using ::geoloc::testing::WriteTestFile;

TEST(Csv, ParsesQuotesCrlfBomAndBlankLines) {
  const std::string text =
      "\xEF\xBB\xBFpath, lat ,lon\r\n"
      "\"a,b.jpg\",1.5,2\r\n"
      "\r\n"
      "\"say \"\"hi\"\"\n.jpg\",3,4\n"
      "last.jpg,5,6";
  absl::StatusOr<CsvTable> t = ParseCsv(text);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->header, (std::vector<std::string>{"path", "lat", "lon"}));
  ASSERT_EQ(t->rows.size(), 3u);
  EXPECT_EQ(t->rows[0].fields[0], "a,b.jpg");
  EXPECT_EQ(t->rows[1].fields[0], "say \"hi\"\n.jpg");
  EXPECT_EQ(t->rows[1].line, 4);
  EXPECT_EQ(t->rows[2].fields[2], "6");
  EXPECT_EQ(t->rows[2].line, 6);
  EXPECT_EQ(t->Column({"LAT"}), 1);
  EXPECT_EQ(t->Column({"nope"}), -1);
}

TEST(Csv, ReportsStructuralErrorsWithLineNumbers) {
  absl::StatusOr<CsvTable> t = ParseCsv("path,lat,lon\na.jpg,1\n");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("line 2"), std::string::npos) << t.status();
  EXPECT_FALSE(ParseCsv("path,lat,lon\n\"open,1,2\n").ok());
  EXPECT_FALSE(ParseCsv("").ok());
}

TEST(CsvSource, ReadsTheSyntheticWorldLayout) {
  ScratchDir dir;
  WriteTestFile(dir.file("world.csv"),
           "path,lat,lon,place,split,city,region,view\n"
           "images/suva/0_0.jpg,-18.1,178.4,0,database,0,0,0\n"
           "images/suva/0_1.jpg,-18.1,178.41,0,database,0,0,1\n"
           "/abs/x.jpg,70.5,-179.9,12,query,1,0,0\n");
  absl::StatusOr<SourceList> list = ReadCsvSource(dir.file("world.csv"), "");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->entries.size(), 3u);
  EXPECT_EQ(list->entries[0].path, dir.file("images/suva/0_0.jpg"));
  EXPECT_EQ(list->entries[0].meta.source, "images/suva/0_0.jpg");
  EXPECT_EQ(list->entries[1].meta.id, 1);       // no id column: the data row
  EXPECT_EQ(list->entries[1].meta.group, "0");  // `place` is the group
  EXPECT_EQ(list->entries[2].path, "/abs/x.jpg");
  EXPECT_DOUBLE_EQ(list->entries[2].meta.lon, -179.9);
  EXPECT_EQ(list->seen, 3);
}

TEST(CsvSource, UsesIdAndGroupColumnsAndImageRoot) {
  ScratchDir dir;
  WriteTestFile(dir.file("l.csv"), "id,latitude,longitude,image,group,place\n7,1,2,a.jpg,g1,p1\n");
  absl::StatusOr<SourceList> list = ReadCsvSource(dir.file("l.csv"), "/images");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->entries[0].meta.id, 7);
  EXPECT_EQ(list->entries[0].meta.group, "g1");  // `group` wins over `place`
  EXPECT_EQ(list->entries[0].path, "/images/a.jpg");
}

TEST(CsvSource, RejectsBadRowsAndHeaders) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"path,lat\na.jpg,1\n", "needs path, lat and lon"},
      {"path,lat,lon\na.jpg,x,2\n", "line 2"},
      {"path,lat,lon\na.jpg,1,2\nb.jpg,91,2\n", "line 3"},
      {"path,lat,lon,id\na.jpg,1,2,seven\n", "id is not an integer"},
      {"path,lat,lon\n,1,2\n", "empty path"},
  };
  for (const auto& [text, message] : cases) {
    WriteTestFile(dir.file("bad.csv"), text);
    absl::StatusOr<SourceList> list = ReadCsvSource(dir.file("bad.csv"), "");
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(list.status().message().find(message), std::string::npos) << list.status();
  }
  EXPECT_EQ(ReadCsvSource(dir.file("missing.csv"), "").status().code(), absl::StatusCode::kNotFound);
}

TEST(VprFolder, ScansSortedAndSkipsOtherNames) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.file("db/sub"));
  WriteTestFile(dir.file("db/sub/@1@2@10@S@37.5@-122.25@@@@@@@@.jpg"), "x");
  WriteTestFile(dir.file("db/@1@2@10@S@-10@20@@@@@@@@.jpg"), "x");
  WriteTestFile(dir.file("db/holiday.jpg"), "x");
  WriteTestFile(dir.file("db/notes.txt"), "x");
  absl::StatusOr<SourceList> list = ScanVprFolder(dir.file("db"));
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->entries.size(), 2u);
  EXPECT_EQ(list->seen, 3);  // the .txt is not an image
  EXPECT_EQ(list->skipped, 1);
  EXPECT_EQ(list->entries[0].meta.source, "@1@2@10@S@-10@20@@@@@@@@.jpg");
  EXPECT_DOUBLE_EQ(list->entries[0].meta.lat, -10);
  EXPECT_EQ(list->entries[1].meta.source, "sub/@1@2@10@S@37.5@-122.25@@@@@@@@.jpg");
  EXPECT_DOUBLE_EQ(list->entries[1].meta.lon, -122.25);
  EXPECT_EQ(list->entries[1].meta.id, 2);  // position among the sorted image files
  EXPECT_EQ(ScanVprFolder(dir.file("nope")).status().code(), absl::StatusCode::kNotFound);
}

TEST(ExifFolder, ReadsGpsAndCountsPhotosWithout) {
  ScratchDir dir;
  cv::Mat image(32, 32, CV_8UC3, cv::Scalar(1, 2, 3));
  std::vector<uchar> buf;
  ASSERT_TRUE(cv::imencode(".jpg", image, buf));
  const std::string jpeg(buf.begin(), buf.end());
  const auto tags = GpsTags('N', 10, 30, 0, 'W', 20, 15, 0);
  WriteTestFile(dir.file("a.jpg"), WithJpegExif(jpeg, ExifGpsBlock(tags)));
  WriteTestFile(dir.file("b.JPG"), jpeg);  // no EXIF
  auto zero_den = tags;
  zero_den[1] = TiffRationals(2, {{10, 0}, {0, 1}, {0, 1}});
  WriteTestFile(dir.file("c.jpeg"), WithJpegExif(jpeg, ExifGpsBlock(zero_den)));
  WriteTestFile(dir.file("d.png"), "png files are not read for EXIF");
  absl::StatusOr<SourceList> list = ScanExifFolder(dir.path(), 2);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->entries.size(), 1u);
  EXPECT_EQ(list->entries[0].meta.source, "a.jpg");
  EXPECT_DOUBLE_EQ(list->entries[0].meta.lat, 10.5);
  EXPECT_DOUBLE_EQ(list->entries[0].meta.lon, -20.25);
  EXPECT_EQ(list->seen, 3);
  EXPECT_EQ(list->skipped, 2);
  ASSERT_EQ(list->skip_reasons.size(), 2u);
  EXPECT_EQ(list->skip_reasons[0], (std::pair<std::string, int64_t>{"no GPS tags", 1}));
  EXPECT_EQ(list->skip_reasons[1], (std::pair<std::string, int64_t>{"unreadable EXIF", 1}));
}

}  // namespace
}  // namespace geoloc::index
