using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Synthetic;

/// <summary>Seeded generator of synthetic non-contrast head CT cohorts with ground-truth lesion masks.</summary>
/// <remarks>Deterministic: a case depends only on the seed and its index (each case and each slice draw from their
/// own derived random stream), so results do not depend on threads or on how many cases are generated.</remarks>
public static class CohortGenerator
{
    private const double Coverage = 140; // mm covered by default
    private static readonly int[] WideSizes = [128, 160, 256, 512];
    private static readonly double[] WideSliceThickness = [2.5, 3.0, 4.0, 5.0];

    /// <summary>The scanner traits of every site of a cohort.</summary>
    public static IReadOnlyList<SiteProfile> Sites(CohortOptions options)
    {
        options.Validate();
        return Enumerable.Range(0, options.Sites).Select(s =>
        {
            var rng = Prng.Derive(options.Seed, 1, (ulong)s);
            var site = new SiteProfile(
                Id: $"site{s + 1}",
                // Thinner slices are noisier: 5 mm sites 3-5 HU, 2.5 mm sites 5-8 HU.
                NoiseSigma: Math.Round(s % 2 == 0 ? rng.Uniform(3, 5) : rng.Uniform(5, 8), 2),
                HuOffset: Math.Round(rng.Uniform(-3, 3), 1), // keeps grey/white matter inside 30..45 HU (HeadPhantom)
                SliceThickness: s % 2 == 0 ? 5.0 : 2.5,
                Size: s / 2 % 2 == 0 ? 128 : 256,
                FieldOfView: Math.Round(rng.Uniform(220, 250)),
                BlurSigma: Math.Round(rng.Uniform(0.5, 0.85), 2));
            if (options.Variation == PhantomVariation.Wide)
            {
                // Drawn from a stream of their own: standard cohorts stay what they were.
                var wide = Prng.Derive(options.Seed, 4, (ulong)s);
                site = site with
                {
                    NoiseSigma = Math.Round(wide.Uniform(2, 10), 2),
                    HuOffset = Math.Round(wide.Uniform(-4, 4), 1),
                    SliceThickness = WideSliceThickness[wide.Next(0, WideSliceThickness.Length)],
                    Size = WideSizes[wide.Next(0, WideSizes.Length)],
                    FieldOfView = Math.Round(wide.Uniform(180, 260)),
                    BlurSigma = Math.Round(wide.Uniform(0.4, 1.2), 2),
                };
            }
            return site with
            {
                Size = options.Size ?? site.Size,
                FieldOfView = options.FieldOfView ?? site.FieldOfView,
                SliceThickness = options.SliceThickness ?? site.SliceThickness,
            };
        }).ToList();
    }

    /// <summary>The lesion type of every case (a seeded shuffle decides which cases are lesion-free).</summary>
    public static IReadOnlyList<LesionType> LesionPlan(CohortOptions options)
    {
        options.Validate();
        var order = Enumerable.Range(0, options.Cases).ToArray();
        var rng = Prng.Derive(options.Seed, 2);
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = rng.Next(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var free = (int)Math.Round(options.Cases * options.LesionFreeFraction);
        var plan = new LesionType[options.Cases];
        for (var rank = 0; rank < order.Length; rank++)
        {
            plan[order[rank]] = rank < free ? LesionType.None : options.Lesion switch
            {
                LesionMode.Infarct => LesionType.Infarct,
                LesionMode.Hemorrhage => LesionType.Hemorrhage,
                _ => (rank - free) % 2 == 0 ? LesionType.Infarct : LesionType.Hemorrhage,
            };
        }
        return plan;
    }

    /// <summary>Generates case <paramref name="index"/> (0-based) of a cohort.</summary>
    public static SyntheticCase GenerateCase(CohortOptions options, int index, CancellationToken ct = default)
    {
        options.Validate();
        if (index < 0 || index >= options.Cases) throw new ArgumentOutOfRangeException(nameof(index));
        var site = Sites(options)[index % options.Sites];
        var lesion = LesionPlan(options)[index];
        var (image, mask) = Render(options, site, lesion, Prng.Derive(options.Seed, 3, (ulong)index), applyLesion: true, ct);
        return new SyntheticCase($"case{index + 1:D4}", site, lesion, image, mask, MaskVolume.VolumeMl(mask));
    }

    /// <summary>The same head as case <paramref name="index"/> (same anatomy and noise) without its lesion: the reference
    /// to measure lesion contrast against.</summary>
    public static Volume<short> GenerateLesionFreeTwin(CohortOptions options, int index, CancellationToken ct = default)
    {
        options.Validate();
        var site = Sites(options)[index % options.Sites];
        var lesion = LesionPlan(options)[index];
        return Render(options, site, lesion, Prng.Derive(options.Seed, 3, (ulong)index), applyLesion: false, ct).Image;
    }

    /// <summary>Generates a whole cohort into a folder: images/ID.nii.gz, masks/ID.nii.gz and manifest.csv.</summary>
    public static IReadOnlyList<ManifestEntry> Write(string outDir, CohortOptions options, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        Directory.CreateDirectory(Path.Combine(outDir, "images"));
        Directory.CreateDirectory(Path.Combine(outDir, "masks"));
        var entries = new List<ManifestEntry>();
        for (var i = 0; i < options.Cases; i++)
        {
            ct.ThrowIfCancellationRequested();
            var c = GenerateCase(options, i, ct);
            var image = $"images/{c.CaseId}.nii.gz";
            var mask = $"masks/{c.CaseId}.nii.gz";
            NiftiWriter.Write(Path.Combine(outDir, image), c.Image, new NiftiWriteOptions(Description: $"Sdpm synthetic NCCT {c.Site.Id}"));
            MaskVolume.WriteNifti(Path.Combine(outDir, mask), c.Mask, c.Image.Geometry);
            var sp = c.Image.Spacing;
            entries.Add(new ManifestEntry(c.CaseId, c.Site.Id, c.Lesion, Math.Round(c.LesionMl, 3), image, mask,
                c.Image.Dims, new Spacing(Math.Round(sp.X, 4), Math.Round(sp.Y, 4), Math.Round(sp.Z, 4)), c.Site.NoiseSigma, c.Site.HuOffset));
            progress?.Report(i + 1);
        }
        CohortManifest.Write(Path.Combine(outDir, CohortManifest.FileName), entries);
        return entries;
    }

    private static (Volume<short> Image, Volume<byte> Mask) Render(CohortOptions options, SiteProfile site, LesionType lesion, Prng rng, bool applyLesion, CancellationToken ct)
    {
        var caseSeed = rng.NextUInt64();
        var wide = options.Variation == PhantomVariation.Wide ? Prng.Derive(caseSeed, 1UL << 40, 5) : null; // not a slice's stream
        var phantom = new HeadPhantom(rng, lesion, applyLesion, wide, site.FieldOfView);
        var n = site.Size;
        var nz = options.Slices ?? (int)Math.Round(Coverage / site.SliceThickness);
        var dz = site.SliceThickness;
        var dxy = site.PixelSpacing;
        var zStart = Math.Max(-60, 20 - nz * dz / 2); // centre the coverage on the ventricles
        var affine = Affine.Canonical(new Spacing(dxy, dxy, dz), (n - 1) / 2.0 * dxy, (n - 1) / 2.0 * dxy, zStart);
        var dims = new Dims(n, n, nz);
        var image = new Volume<short>(dims, affine);
        var mask = new Volume<byte>(dims, affine);
        var sub = dz > 3 ? 3 : 2; // partial volume across the slice thickness
        var kernel = GaussianKernel(site.BlurSigma);
        var noiseKernel = GaussianKernel(0.6);
        var noiseGain = 1 / Math.Sqrt(KernelEnergy(noiseKernel));

        Parallel.For(0, nz, new ParallelOptions { CancellationToken = ct }, k =>
        {
            var hu = new float[n * n];
            var member = new float[n * n];
            for (var s = 0; s < sub; s++)
            {
                var z = zStart + k * dz + ((s + 0.5) / sub - 0.5) * dz;
                for (var j = 0; j < n; j++)
                {
                    var y = (j - (n - 1) / 2.0) * dxy;
                    for (var i = 0; i < n; i++)
                    {
                        var x = (i - (n - 1) / 2.0) * dxy;
                        var (h, m) = phantom.Evaluate(x, y, z);
                        hu[j * n + i] += (float)(h / sub);
                        member[j * n + i] += (float)(m / sub);
                    }
                }
            }
            Blur(hu, n, kernel);
            var noise = new float[n * n];
            var sliceRng = Prng.Derive(caseSeed, (ulong)k);
            for (var i = 0; i < noise.Length; i++) noise[i] = (float)sliceRng.Gaussian();
            Blur(noise, n, noiseKernel);
            var dst = image.Slice(k);
            var md = mask.Slice(k);
            var gain = (float)(site.NoiseSigma * noiseGain);
            for (var i = 0; i < hu.Length; i++)
            {
                var v = hu[i] + (float)site.HuOffset + noise[i] * gain;
                dst[i] = (short)Math.Clamp(MathF.Round(v), -1024, 3071);
                md[i] = member[i] >= 0.5f ? (byte)1 : (byte)0;
            }
        });
        return (image, mask);
    }

    private static float[] GaussianKernel(double sigma)
    {
        var r = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var k = new float[2 * r + 1];
        double sum = 0;
        for (var i = -r; i <= r; i++)
        {
            k[i + r] = (float)Math.Exp(-i * i / (2 * sigma * sigma));
            sum += k[i + r];
        }
        for (var i = 0; i < k.Length; i++) k[i] /= (float)sum;
        return k;
    }

    private static double KernelEnergy(float[] k)
    {
        var e1 = k.Sum(v => (double)v * v);
        return e1 * e1; // separable 2D kernel
    }

    private static void Blur(float[] img, int n, float[] k)
    {
        var r = k.Length / 2;
        var tmp = new float[img.Length];
        for (var y = 0; y < n; y++)
            for (var x = 0; x < n; x++)
            {
                float s = 0;
                for (var t = -r; t <= r; t++) s += k[t + r] * img[y * n + Math.Clamp(x + t, 0, n - 1)];
                tmp[y * n + x] = s;
            }
        for (var y = 0; y < n; y++)
            for (var x = 0; x < n; x++)
            {
                float s = 0;
                for (var t = -r; t <= r; t++) s += k[t + r] * tmp[Math.Clamp(y + t, 0, n - 1) * n + x];
                img[y * n + x] = s;
            }
    }
}
