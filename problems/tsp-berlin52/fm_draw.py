"""fm_draw: small SVG pictures of a result, returned as FM Agent image artifacts.

The master copy lives in problems/_common/fm_draw.py; problems/_common/sync.py copies it into every
problem folder (a folder travels alone as a bundle). Standard library only.

    from fm_draw import Svg, Plot, image
    s = Svg(400, 400)                       # a white sheet, 400 x 400 user units
    s.rect(10, 10, 380, 380, fill='none', stroke='#333')
    s.circle(200, 200, 50, fill=color(0.3))
    result(..., circles=image(s))           # an artifact {"type": "image/svg+xml", "data": "<svg…>"}

The worker checks every image (workers/images.ts): only plain shapes, text, gradients and clip paths
survive, so draw with those. Keep pictures small (a few thousand elements at most): the bound is
100,000 characters per image; coordinates are written with 2 decimals.
"""
import math

FONT = "system-ui, 'DejaVu Sans', sans-serif"


def _num(v):
    if isinstance(v, bool):
        return '1' if v else '0'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return '0'
        s = f'{v:.2f}'.rstrip('0').rstrip('.')
        return '0' if s in ('-0', '') else s
    return str(v)


def _esc(s):
    return str(s).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')


def _attrs(kw):
    return ''.join(f' {k.rstrip("_").replace("_", "-")}="{_esc(_num(v))}"' for k, v in kw.items() if v is not None)


class Svg:
    """An SVG document built element by element."""

    def __init__(self, width, height, background='#ffffff'):
        self.width, self.height = width, height
        self.parts = []
        if background:
            self.rect(0, 0, width, height, fill=background)

    def add(self, tag, text=None, **kw):
        if text is None:
            self.parts.append(f'<{tag}{_attrs(kw)}/>')
        else:
            self.parts.append(f'<{tag}{_attrs(kw)}>{_esc(text)}</{tag}>')
        return self

    def circle(self, cx, cy, r, **kw):
        return self.add('circle', cx=cx, cy=cy, r=r, **kw)

    def rect(self, x, y, w, h, **kw):
        return self.add('rect', x=x, y=y, width=max(0.0, w), height=max(0.0, h), **kw)

    def line(self, x1, y1, x2, y2, **kw):
        return self.add('line', x1=x1, y1=y1, x2=x2, y2=y2, **kw)

    def polyline(self, points, **kw):
        return self.add('polyline', points=' '.join(f'{_num(float(x))},{_num(float(y))}' for x, y in points), **kw)

    def polygon(self, points, **kw):
        return self.add('polygon', points=' '.join(f'{_num(float(x))},{_num(float(y))}' for x, y in points), **kw)

    def text(self, x, y, s, size=12, **kw):
        kw.setdefault('fill', '#222')
        return self.add('text', str(s), x=x, y=y, font_size=size, font_family=FONT, **kw)

    def open_group(self, **kw):
        self.parts.append(f'<g{_attrs(kw)}>')
        return self

    def close_group(self):
        self.parts.append('</g>')
        return self

    def render(self):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_num(self.width)} {_num(self.height)}" '
                f'width="{_num(self.width)}" height="{_num(self.height)}">' + ''.join(self.parts) + '</svg>')


def image(svg):
    """The artifact that makes an SVG (an Svg or its text) a picture of the result."""
    return {'type': 'image/svg+xml', 'data': svg.render() if isinstance(svg, Svg) else str(svg)}


# a perceptually ordered scale (dark blue → teal → yellow), as the console's MAP-Elites grid
_STOPS = [(0.0, (32, 46, 92)), (0.5, (26, 152, 140)), (1.0, (246, 211, 70))]


def color(t):
    """A colour for t in [0, 1]."""
    t = 0.0 if not math.isfinite(t) else min(1.0, max(0.0, t))
    for (a, ca), (b, cb) in zip(_STOPS, _STOPS[1:]):
        if t <= b:
            u = (t - a) / (b - a)
            return '#%02x%02x%02x' % tuple(round(x + (y - x) * u) for x, y in zip(ca, cb))
    return '#%02x%02x%02x' % _STOPS[-1][1]


def nice_ticks(lo, hi, n=5):
    """About n round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + step * 1e-9 and len(out) < 50:
        out.append(round(v, 12))
        v += step
    return out


def tick_label(v):
    if v == 0:
        return '0'
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f'{v:.1e}'
    return f'{v:.4g}'


class Plot:
    """A chart area on an Svg: data coordinates to the sheet, axes with round ticks."""

    def __init__(self, svg, x0, y0, w, h, xlim, ylim):
        self.s, self.x0, self.y0, self.w, self.h = svg, x0, y0, w, h
        self.xlim, self.ylim = xlim, ylim

    def x(self, v):
        lo, hi = self.xlim
        return self.x0 + (v - lo) / ((hi - lo) or 1) * self.w

    def y(self, v):
        lo, hi = self.ylim
        return self.y0 + self.h - (v - lo) / ((hi - lo) or 1) * self.h

    def steps(self, values, x_start=0.0, x_step=1.0, **kw):
        """A step function: value i holds on [x_start + i x_step, x_start + (i + 1) x_step)."""
        pts = [(self.x(x_start), self.y(self.ylim[0]))]
        for i, v in enumerate(values):
            a, b = x_start + i * x_step, x_start + (i + 1) * x_step
            pts += [(self.x(a), self.y(v)), (self.x(b), self.y(v))]
        pts.append((self.x(x_start + len(values) * x_step), self.y(self.ylim[0])))
        kw.setdefault('fill', '#1f6feb')
        kw.setdefault('fill_opacity', 0.25)
        kw.setdefault('stroke', '#1f6feb')
        kw.setdefault('stroke_width', 1)
        self.s.polygon(pts, **kw)
        return self

    def curve(self, xs, ys, **kw):
        kw.setdefault('fill', 'none')
        kw.setdefault('stroke', '#1b2430')
        kw.setdefault('stroke_width', 1.2)
        self.s.polyline([(self.x(a), self.y(b)) for a, b in zip(xs, ys)], **kw)
        return self

    def axes(self, xlabel='', ylabel='', xticks=None, yticks=None, grid=True):
        s = self
        for v in (yticks if yticks is not None else nice_ticks(*self.ylim)):
            if self.ylim[0] - 1e-12 <= v <= self.ylim[1] + 1e-12:
                if grid:
                    s.s.line(self.x0, self.y(v), self.x0 + self.w, self.y(v), stroke='#e3e6ea', stroke_width=1)
                s.s.text(self.x0 - 6, self.y(v) + 4, tick_label(v), size=11, text_anchor='end', fill='#555')
        for v in (xticks if xticks is not None else nice_ticks(*self.xlim)):
            if self.xlim[0] - 1e-12 <= v <= self.xlim[1] + 1e-12:
                s.s.line(self.x(v), self.y0 + self.h, self.x(v), self.y0 + self.h + 4, stroke='#888')
                s.s.text(self.x(v), self.y0 + self.h + 17, tick_label(v), size=11, text_anchor='middle', fill='#555')
        s.s.line(self.x0, self.y0 + self.h, self.x0 + self.w, self.y0 + self.h, stroke='#888')
        s.s.line(self.x0, self.y0, self.x0, self.y0 + self.h, stroke='#888')
        if xlabel:
            s.s.text(self.x0 + self.w / 2, self.y0 + self.h + 34, xlabel, size=12, text_anchor='middle', fill='#333')
        if ylabel:
            s.s.text(self.x0 - 44, self.y0 + self.h / 2, ylabel, size=12, text_anchor='middle', fill='#333',
                     transform=f'rotate(-90 {_num(self.x0 - 44)} {_num(self.y0 + self.h / 2)})')
        return self


def timing_strips(rows, title, xlabel, note=None):
    """Timed runs side by side: one row per program (label, times in ms, colour), each run a dot, the
    median a bar; note(median_ms) adds a word on each median (e.g. the throughput)."""
    import statistics
    s = Svg(560, 90 + 60 * len(rows))
    hi = max(max(t) for _, t, _ in rows) * 1.08 or 1.0
    p = Plot(s, 84, 34, 456, 60 * len(rows), (0, hi), (0, len(rows)))
    p.axes(xlabel=xlabel, yticks=[])
    for k, (label, times, fill) in enumerate(rows):
        y = len(rows) - k - 0.5
        med = statistics.median(times)
        s.rect(p.x(0), p.y(y) - 14, p.x(med) - p.x(0), 28, fill=fill, fill_opacity=0.35)
        for t in times:
            s.circle(p.x(t), p.y(y), 4, fill=fill, stroke='#1b2430', stroke_width=0.6)
        s.text(p.x0 - 8, p.y(y) + 4, label, size=12, text_anchor='end')
        s.text(p.x0 + 4, p.y(y) - 18, f'median {tick_label(med)} ms' + (f' · {note(med)}' if note else ''), size=11, fill='#333')
    s.text(84, 16, title, size=12)
    return image(s)
