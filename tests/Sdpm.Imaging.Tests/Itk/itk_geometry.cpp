// Reads a NIfTI file with ITK's NiftiImageIO (the reader behind 3D Slicer and ITK-SNAP) and prints what ITK sees as
// one line of JSON: size, spacing, origin, direction (row-major, LPS physical space, as ITK always uses), the voxel
// values at the given indices, and min/max/sum over all voxels.
// Usage: itk_geometry FILE [i,j,k ...]
// Exit codes: 0 read, 2 ITK refused the file (the JSON then has "error"), 1 bad usage.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"
#include "itkNiftiImageIO.h"

namespace
{
std::string JsonString(const std::string & s)
{
  std::string out = "\"";
  for (const unsigned char c : s)
  {
    if (c == '"' || c == '\\')
    {
      out += '\\';
      out += static_cast<char>(c);
    }
    else if (c < 0x20 || c >= 0x7f)
    {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    }
    else
      out += static_cast<char>(c);
  }
  return out + "\"";
}
} // namespace

int main(int argc, char ** argv)
{
  if (argc < 2)
  {
    std::fprintf(stderr, "usage: %s FILE [i,j,k ...]\n", argv[0]);
    return 1;
  }
  using ImageType = itk::Image<float, 3>;
  auto io = itk::NiftiImageIO::New();
  auto reader = itk::ImageFileReader<ImageType>::New();
  reader->SetImageIO(io);
  reader->SetFileName(argv[1]);
  try
  {
    reader->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    std::printf("{\"itk\":%s,\"error\":%s}\n", JsonString(ITK_VERSION_STRING).c_str(), JsonString(e.GetDescription()).c_str());
    return 2;
  }
  const ImageType * image = reader->GetOutput();
  const auto size = image->GetLargestPossibleRegion().GetSize();
  const auto spacing = image->GetSpacing();
  const auto origin = image->GetOrigin();
  const auto direction = image->GetDirection();

  std::printf("{\"itk\":%s,\"componentType\":%s,\"size\":[%lu,%lu,%lu]",
              JsonString(ITK_VERSION_STRING).c_str(),
              JsonString(itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType())).c_str(),
              static_cast<unsigned long>(size[0]), static_cast<unsigned long>(size[1]), static_cast<unsigned long>(size[2]));
  std::printf(",\"spacing\":[%.17g,%.17g,%.17g]", spacing[0], spacing[1], spacing[2]);
  std::printf(",\"origin\":[%.17g,%.17g,%.17g]", origin[0], origin[1], origin[2]);
  std::printf(",\"direction\":[");
  for (unsigned r = 0; r < 3; ++r)
    for (unsigned c = 0; c < 3; ++c)
      std::printf("%s%.17g", r + c == 0 ? "" : ",", direction[r][c]);
  std::printf("],\"values\":[");
  for (int a = 2; a < argc; ++a)
  {
    long i = 0, j = 0, k = 0;
    if (std::sscanf(argv[a], "%ld,%ld,%ld", &i, &j, &k) != 3)
    {
      std::fprintf(stderr, "bad index %s\n", argv[a]);
      return 1;
    }
    ImageType::IndexType index = { { i, j, k } };
    if (!image->GetLargestPossibleRegion().IsInside(index))
    {
      std::fprintf(stderr, "index %s is outside the image\n", argv[a]);
      return 1;
    }
    std::printf("%s%.9g", a == 2 ? "" : ",", static_cast<double>(image->GetPixel(index)));
  }
  double sum = 0, min = 0, max = 0;
  bool first = true;
  itk::ImageRegionConstIterator<ImageType> it(image, image->GetLargestPossibleRegion());
  for (it.GoToBegin(); !it.IsAtEnd(); ++it)
  {
    const double v = it.Get();
    sum += v;
    if (first || v < min) min = v;
    if (first || v > max) max = v;
    first = false;
  }
  std::printf("],\"min\":%.9g,\"max\":%.9g,\"sum\":%.17g}\n", min, max, sum);
  return 0;
}
