"""TSPLIB reading and TSPLIB distances, exactly as TSPLIB95 defines them.

Master copy: problems/_common/tsplib.py (copied into every tsp-* folder by problems/_common/sync.py).

Distances (TSPLIB95 documentation, section 2):
  EUC_2D: d = nint(sqrt(dx^2 + dy^2)), nint(x) = int(x + 0.5)
  ATT:    r = sqrt((dx^2 + dy^2) / 10); t = nint(r); d = t + 1 if t < r else t   (pseudo-Euclidean)
  CEIL_2D: d = ceil(sqrt(dx^2 + dy^2))
"""
import math

SUPPORTED = ('EUC_2D', 'ATT', 'CEIL_2D')


def read_tsp(path):
    """Return (name, edge_weight_type, coords) with coords a list of (x, y) in file order."""
    header = {}
    coords = []
    with open(path) as f:
        lines = iter(f.read().splitlines())
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line.startswith('NODE_COORD_SECTION'):
            break
        if ':' in line:
            key, value = line.split(':', 1)
            header[key.strip().upper()] = value.strip()
    dimension = int(header['DIMENSION'])
    for line in lines:
        parts = line.split()
        if not parts or parts[0] == 'EOF':
            break
        coords.append((float(parts[1]), float(parts[2])))
        if len(coords) == dimension:
            break
    kind = header.get('EDGE_WEIGHT_TYPE', '').upper()
    if kind not in SUPPORTED:
        raise ValueError(f'unsupported EDGE_WEIGHT_TYPE {kind!r}')
    if len(coords) != dimension:
        raise ValueError(f'expected {dimension} coordinates, read {len(coords)}')
    return header.get('NAME', ''), kind, coords


def read_tour(path):
    """Return the tour of a .opt.tour file as 0-based city indices."""
    tour = []
    with open(path) as f:
        in_section = False
        for line in f:
            if line.strip().startswith('TOUR_SECTION'):
                in_section = True
                continue
            if not in_section:
                continue
            for token in line.split():
                if token in ('-1', 'EOF'):
                    return tour
                tour.append(int(token) - 1)
    return tour


def nint(x):
    return int(x + 0.5)


def distance(kind, a, b):
    dx, dy = a[0] - b[0], a[1] - b[1]
    if kind == 'EUC_2D':
        return nint(math.sqrt(dx * dx + dy * dy))
    if kind == 'ATT':
        r = math.sqrt((dx * dx + dy * dy) / 10.0)
        t = nint(r)
        return t + 1 if t < r else t
    if kind == 'CEIL_2D':
        return int(math.ceil(math.sqrt(dx * dx + dy * dy)))
    raise ValueError(f'unsupported EDGE_WEIGHT_TYPE {kind!r}')


def distance_matrix(kind, coords):
    n = len(coords)
    d = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d[i][j] = d[j][i] = distance(kind, coords[i], coords[j])
    return d


def tour_length(kind, coords, tour):
    """Closed tour length with TSPLIB's integer distances (pure Python, so nothing can be patched)."""
    n = len(tour)
    return sum(distance(kind, coords[tour[i]], coords[tour[(i + 1) % n]]) for i in range(n))
