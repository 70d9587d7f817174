namespace Sdpm.Imaging.Synthetic;

/// <summary>An analytic head for one case: HU and lesion membership at any point (mm, head-centred, x to the
/// patient's left, y posterior, z superior).</summary>
/// <remarks>Layers from outside in: skin, subcutaneous fat, skull (tables and diploë), a thin CSF layer, cortex with
/// sulci, white matter, deep grey nuclei, ventricles, the interhemispheric fissure; plus a head rest behind the head.</remarks>
internal sealed class HeadPhantom
{
    private readonly double _a, _b, _c, _cx, _cy, _cos, _sin;
    private readonly double _scalp, _skull, _table, _diploe, _gm, _wm, _csf, _atrophy, _csfLayer, _sulcusDepth;
    private readonly double _cupping, _cuppingDepth, _texture, _q1, _q2;
    private readonly int _gyri;
    private readonly double _p1, _p2, _p3;
    private readonly Ellipsoid[] _ventricles;
    private readonly Ellipsoid[] _nuclei;
    private readonly ILesion? _lesion;

    /// <param name="applyLesion">False renders the same head without its lesion (the lesion's random draws are still made).</param>
    /// <param name="wide">Draws of <see cref="PhantomVariation.Wide"/>, from a stream of their own (null: a standard head,
    /// exactly as before they existed).</param>
    /// <param name="fieldOfView">The scan's field of view (mm): a wide head is shrunk to fit inside it.</param>
    public HeadPhantom(Prng rng, LesionType lesion, bool applyLesion = true, Prng? wide = null, double fieldOfView = double.PositiveInfinity)
    {
        var scale = rng.Uniform(0.93, 1.07);
        _a = 71 * scale * rng.Uniform(0.96, 1.04);
        _b = 90 * scale * rng.Uniform(0.96, 1.04);
        _c = 84 * scale;
        _cx = rng.Uniform(-5, 5);
        _cy = rng.Uniform(-6, 6);
        var yaw = rng.Uniform(-5, 5) * Math.PI / 180;
        _cos = Math.Cos(yaw);
        _sin = Math.Sin(yaw);
        _scalp = rng.Uniform(4, 6);
        _skull = rng.Uniform(4, 5.5);
        _table = rng.Uniform(1150, 1500);
        _diploe = rng.Uniform(700, 900);
        // With the site offset of at most 3 HU (CohortGenerator.Sites), white matter stays in 30..38 HU and grey
        // matter in 34..45 HU: both inside the 30..45 HU of head CT.
        _wm = rng.Uniform(33, 35);
        _gm = _wm + rng.Uniform(4, 7);
        _csf = rng.Uniform(3, 12);
        _atrophy = rng.Uniform(0.8, 1.5);
        _csfLayer = 1.0 * _atrophy;
        _sulcusDepth = rng.Uniform(10, 15);
        _gyri = rng.Next(14, 19);
        _p1 = rng.Uniform(0, 2 * Math.PI);
        _p2 = rng.Uniform(0, 2 * Math.PI);
        _p3 = rng.Uniform(0, 2 * Math.PI);
        if (wide is not null)
        {
            // Other builds: small to large heads (up to filling the field of view), rounder or longer, off-centre and
            // turned; thin to thick skull of other densities; other grey-white contrast and gyral patterns; a slow
            // intensity texture; beam-hardening cupping that brightens the brain under the inner table.
            var build = wide.Uniform(0.85, 1.2);
            _a = 71 * build * wide.Uniform(0.9, 1.1);
            _b = 90 * build * wide.Uniform(0.9, 1.1);
            _c = 84 * build;
            _scalp = wide.Uniform(2.5, 8);
            var fit = (0.5 * fieldOfView - 4) / (Math.Max(_a, _b) + 8); // the head's outline inside the field, a few mm spare
            if (fit < 1)
            {
                _a *= fit;
                _b *= fit;
                _c *= fit;
            }
            var room = Math.Max(0, 0.5 * fieldOfView - 4 - Math.Max(_a, _b));
            _cx = wide.Uniform(-1, 1) * Math.Min(15, room);
            _cy = wide.Uniform(-1, 1) * Math.Min(15, room);
            yaw = wide.Uniform(-15, 15) * Math.PI / 180;
            _cos = Math.Cos(yaw);
            _sin = Math.Sin(yaw);
            _skull = wide.Uniform(3.5, 10);
            _table = wide.Uniform(1000, 1800);
            _diploe = wide.Uniform(450, 1000);
            _wm = wide.Uniform(30, 36);
            _gm = _wm + wide.Uniform(2, 10);
            _sulcusDepth = wide.Uniform(6, 18);
            _gyri = wide.Next(10, 23);
            _cupping = wide.Uniform(0, 10);
            _cuppingDepth = wide.Uniform(3, 10);
            _texture = wide.Uniform(0, 3);
            _q1 = wide.Uniform(0, 2 * Math.PI);
            _q2 = wide.Uniform(0, 2 * Math.PI);
        }
        var v = _atrophy;
        _ventricles =
        [
            new(7 * v, -6, 18, 4.5 * v, 26, 11 * v), new(-7 * v, -6, 18, 4.5 * v, 26, 11 * v), // lateral ventricle bodies
            new(10 * v, -24, 10, 4 * v, 9, 8 * v), new(-10 * v, -24, 10, 4 * v, 9, 8 * v), // frontal horns
            new(15, 24, 10, 5 * v, 12, 8 * v), new(-15, 24, 10, 5 * v, 12, 8 * v), // atria / occipital horns
            new(26, 4, -14, 2.5 * v, 9, 2.5 * v), new(-26, 4, -14, 2.5 * v, 9, 2.5 * v), // temporal horns
            new(0, 4, -2, 1.6 * v, 11, 7), // third ventricle
            new(0, 34, -36, 4, 3.5 * v, 5), // fourth ventricle
        ];
        _nuclei =
        [
            new(10, 9, 1, 8, 11, 8), new(-10, 9, 1, 8, 11, 8), // thalami
            new(21, -4, 3, 6, 13, 9), new(-21, -4, 3, 6, 13, 9), // lentiform nuclei
            new(12, -15, 12, 4, 7, 7), new(-12, -15, 12, 4, 7, 7), // caudate heads
        ];
        ILesion? made = lesion switch
        {
            LesionType.Infarct => new Infarct(rng, _a, _b),
            LesionType.Hemorrhage => new Hemorrhage(rng, _a, _b),
            _ => null,
        };
        _lesion = applyLesion ? made : null;
    }

    /// <summary>The z range (head coordinates) lesions live in, to place coverage sensibly.</summary>
    public double HeadTop => _c;

    /// <summary>HU and lesion membership (0..1, only in brain tissue) at a point.</summary>
    public (double Hu, double Lesion) Evaluate(double x, double y, double z)
    {
        var dx = x - _cx;
        var dy = y - _cy;
        var u = _cos * dx + _sin * dy;
        var v = -_sin * dx + _cos * dy;
        var w = z;
        var q = u * u / (_a * _a) + v * v / (_b * _b) + w * w / (_c * _c);
        if (q >= 1) return (HeadRest(u, v), 0);
        var rho = Math.Sqrt(q);
        var r = Math.Sqrt(u * u + v * v + w * w);
        var depth = rho < 1e-6 ? _a : r * (1 / rho - 1);

        if (depth < 1.5) return (40, 0); // skin
        if (depth < _scalp) return (-60, 0); // subcutaneous fat
        var skull = _skull * (1 + 0.25 * Math.Max(0, v) / _b + 0.15 * Math.Max(0, -w) / _c);
        if (depth < _scalp + skull)
        {
            // Dense outer and inner tables around a lighter diploë.
            var t = Math.Abs((depth - _scalp) / skull * 2 - 1);
            var table = t >= 0.45 ? 1 : t <= 0.15 ? 0 : (t - 0.15) / 0.3;
            return (_diploe + (_table - _diploe) * table, 0);
        }
        var e = depth - _scalp - skull; // depth below the inner table
        var tissue = Brain(u, v, w, e, out var isTissue);
        if (_cupping > 0 && e < _cuppingDepth) tissue += _cupping * (1 - e / _cuppingDepth);
        if (_texture > 0 && isTissue) tissue += _texture * Math.Sin(u / 9 + _q1) * Math.Sin(v / 11 + w / 13 + _q2);
        if (_lesion is null) return (tissue, 0);
        var (hu, member) = _lesion.Apply(u, v, w, e, tissue, isTissue, _gm, _wm);
        return (hu, member);
    }

    private double Brain(double u, double v, double w, double e, out bool isTissue)
    {
        isTissue = false;
        if (e < _csfLayer) return _csf;
        // Interhemispheric fissure: down to the corpus callosum in the middle, deeper at the poles.
        if (Math.Abs(u) < 1.1 * _atrophy && w + 0.35 * Math.Abs(v) > 22) return _csf;
        foreach (var ventricle in _ventricles)
            if (ventricle.Inside(u, v, w)) return _csf;
        isTissue = true;
        foreach (var nucleus in _nuclei)
            if (nucleus.Inside(u, v, w)) return _gm;
        if (Math.Abs(u) < 4.5 && w + 0.35 * Math.Abs(v) > 22) return _gm; // medial cortex along the fissure
        if (e < _csfLayer + _sulcusDepth)
        {
            var theta = Math.Atan2(v, u);
            var phi = w / _c;
            var s = Math.Abs(Math.Sin(_gyri * theta + 1.2 * Math.Sin(1.5 * phi * Math.PI + _p1) + 0.9 * Math.Sin(2 * theta + _p2) + 1.1 * Math.Sin(4 * phi + 3 * theta + _p3)));
            var taper = 1 - (e - _csfLayer) / _sulcusDepth;
            if (s < 0.3 * _atrophy * taper) { isTissue = false; return _csf; }
            if (s < 0.3 * _atrophy * taper + 0.3 || e < _csfLayer + 3) return _gm;
        }
        return _wm;
    }

    private double HeadRest(double u, double v)
    {
        // A curved rest 10 mm behind the head, 5 mm thick, separated from it by air.
        if (v <= 0.5 * _b) return -1000;
        var d = Math.Sqrt(u * u / ((_a + 12) * (_a + 12)) + v * v / ((_b + 12) * (_b + 12)));
        return d is > 1 and < 1.06 ? 180 : -1000;
    }

    internal readonly record struct Ellipsoid(double Cx, double Cy, double Cz, double Rx, double Ry, double Rz)
    {
        public bool Inside(double x, double y, double z) => Quotient(x, y, z) < 1;

        public double Quotient(double x, double y, double z)
        {
            var a = (x - Cx) / Rx;
            var b = (y - Cy) / Ry;
            var c = (z - Cz) / Rz;
            return a * a + b * b + c * c;
        }
    }
}

/// <summary>A lesion that modifies the tissue HU and reports its membership.</summary>
internal interface ILesion
{
    (double Hu, double Member) Apply(double u, double v, double w, double e, double tissue, bool isTissue, double gm, double wm);
}

/// <summary>Ischaemic infarct: hypodense by 2 to 10 HU, shaped like an arterial territory, over several slices.</summary>
internal sealed class Infarct : ILesion
{
    private readonly int _side;
    private readonly int _territory; // 0 MCA, 1 ACA, 2 PCA
    private readonly double _delta, _a, _b, _z0, _z1, _angle0, _angle1, _rin, _wobble, _phase;

    public Infarct(Prng rng, double a, double b)
    {
        _a = a;
        _b = b;
        _side = rng.NextDouble() < 0.5 ? -1 : 1;
        var t = rng.NextDouble();
        _territory = t < 0.6 ? 0 : t < 0.8 ? 1 : 2;
        _delta = rng.Uniform(2, 10);
        _wobble = rng.Uniform(0.05, 0.15);
        _phase = rng.Uniform(0, 2 * Math.PI);
        switch (_territory)
        {
            case 0: // MCA: lateral wedge from near the ventricles to the cortex
                var centre = rng.Uniform(-30, 30);
                var half = rng.Uniform(20, 45);
                _angle0 = centre - half;
                _angle1 = centre + half;
                _rin = rng.Uniform(0.3, 0.55);
                _z0 = rng.Uniform(-12, 18);
                _z1 = _z0 + rng.Uniform(22, 45);
                break;
            case 1: // ACA: paramedian frontal strip, high
                _angle0 = -100;
                _angle1 = -50;
                _rin = rng.Uniform(0.2, 0.4);
                _z0 = rng.Uniform(10, 30);
                _z1 = _z0 + rng.Uniform(25, 40);
                break;
            default: // PCA: medial occipital
                _angle0 = 50;
                _angle1 = 100;
                _rin = rng.Uniform(0.3, 0.5);
                _z0 = rng.Uniform(-20, 0);
                _z1 = _z0 + rng.Uniform(20, 35);
                break;
        }
    }

    public (double Hu, double Member) Apply(double u, double v, double w, double e, double tissue, bool isTissue, double gm, double wm)
    {
        if (!isTissue || u * _side < 0) return (tissue, 0);
        // Angle in the axial plane: 0 points laterally, negative anterior, positive posterior.
        var angle = Math.Atan2(v, Math.Abs(u)) * 180 / Math.PI;
        var wob = 1 + _wobble * Math.Sin(4 * angle * Math.PI / 180 + 0.08 * w + _phase);
        var inAngle = Smooth(angle - _angle0 * wob, 6) * Smooth(_angle1 * wob - angle, 6);
        var rho = Math.Sqrt(u * u / (_a * _a) + v * v / (_b * _b));
        var inRadius = Smooth(rho - _rin * wob, 0.04);
        var inZ = Smooth(w - _z0, 4) * Smooth(_z1 - w, 4);
        var medial = _territory == 0 ? 1 : Smooth(28 - Math.Abs(u), 4);
        var f = inAngle * inRadius * inZ * medial;
        return (tissue - _delta * f, f);
    }

    private static double Smooth(double x, double width) => x <= -width ? 0 : x >= width ? 1 : 0.5 + 0.5 * Math.Sin(x / width * Math.PI / 2);
}

/// <summary>Haemorrhage: compact hyperdense blood (50 to 90 HU) with a hypodense oedema rim (not in the mask).</summary>
internal sealed class Hemorrhage : ILesion
{
    private readonly HeadPhantom.Ellipsoid[] _blobs;
    private readonly double _blood, _oedema, _rim;

    public Hemorrhage(Prng rng, double a, double b)
    {
        var side = rng.NextDouble() < 0.5 ? -1 : 1;
        var site = rng.NextDouble();
        (double X, double Y, double Z) c = site < 0.55 ? (side * 21, -3, 3) // basal ganglia
            : site < 0.8 ? (side * 11, 10, 2) // thalamus
            : (side * a * 0.45, rng.Uniform(-0.4, 0.4) * b, rng.Uniform(10, 35)); // lobar
        var n = rng.Next(1, 4);
        _blobs = new HeadPhantom.Ellipsoid[n];
        var size = rng.Uniform(10, 20);
        for (var i = 0; i < n; i++)
        {
            var o = i == 0 ? (0.0, 0.0, 0.0) : (rng.Uniform(-0.6, 0.6) * size, rng.Uniform(-0.6, 0.6) * size, rng.Uniform(-0.5, 0.5) * size);
            _blobs[i] = new(c.X + o.Item1, c.Y + o.Item2, c.Z + o.Item3,
                size * rng.Uniform(0.6, 1.0), size * rng.Uniform(0.8, 1.3), size * rng.Uniform(0.6, 1.0));
        }
        _blood = rng.Uniform(55, 85);
        _oedema = rng.Uniform(4, 9);
        _rim = rng.Uniform(2, 6);
    }

    public (double Hu, double Member) Apply(double u, double v, double w, double e, double tissue, bool isTissue, double gm, double wm)
    {
        if (e < 1) return (tissue, 0);
        var dist = double.MaxValue; // approximate distance outside the nearest blob, in mm (negative inside)
        foreach (var blob in _blobs)
        {
            var q = blob.Quotient(u, v, w);
            var r = Math.Min(blob.Rx, Math.Min(blob.Ry, blob.Rz));
            dist = Math.Min(dist, (Math.Sqrt(q) - 1) * r);
        }
        var f = Math.Clamp(0.5 - dist / 1.5, 0, 1);
        if (f >= 1) return (_blood, 1);
        var rim = isTissue ? Math.Clamp(1 - Math.Max(0, dist) / _rim, 0, 1) : 0;
        var surround = tissue - _oedema * rim;
        return (surround + (_blood - surround) * f, f);
    }
}
