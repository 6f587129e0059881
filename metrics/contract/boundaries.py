"""Generated district/street boundaries for the map (GeoJSON), and a validator.

The demo city has no real geography, so ``generate_boundaries`` draws one: an irregular city
outline (about 117.0-117.6°E, 31.6-32.0°N) covered by a jittered hexagonal lattice; districts
are grown from seed cells into connected, balanced regions, and each district is split into its
streets the same way. Every polygon is the union of lattice cells, so neighbouring streets share
their edges vertex for vertex and a district is exactly the union of its streets (no gaps, no
overlaps, no slivers). Shared edges are then smoothed and simplified chain by chain, which keeps
them identical on both sides. numpy only.
"""

from __future__ import annotations

import heapq
import math
from numbers import Real

import numpy as np
import pandas as pd

from metrics.contract.schema import LEVEL_ALIASES

__all__ = ["generate_boundaries", "validate_boundaries"]

CENTER_LON, CENTER_LAT = 117.3, 31.8
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(CENTER_LAT))
KM_PER_DEG_LAT = 110.95
HALF_WIDTH_KM = 0.296 * KM_PER_DEG_LON      # stays inside 117.0-117.6
HALF_HEIGHT_KM = 0.196 * KM_PER_DEG_LAT     # stays inside 31.6-32.0

# where the demo districts sit, as fractions of the outline's half axes
_DISTRICT_PLACES = {
    "临江区": (0.0, 0.0),
    "东湖区": (0.62, -0.05),
    "西山区": (-0.62, 0.08),
    "南城区": (0.05, -0.62),
    "北塘区": (-0.12, 0.62),
    "青云区": (0.50, 0.55),
    "高新区": (-0.45, -0.52),
}

# pointy-top hexagon in integer lattice units (x: s*sqrt(3)/2, y: s/2), corners counterclockwise
_CORNERS = [(1, 1), (0, 2), (-1, 1), (-1, -1), (0, -2), (1, -1)]
# neighbour centre across the edge from corner k to corner k+1
_NEIGHBOURS = [(1, 3), (-1, 3), (-2, 0), (-1, -3), (1, -3), (2, 0)]


# ---------------------------------------------------------------- lattice

class _Lattice:
    def __init__(self, n_cells_wanted: int, rng: np.random.Generator):
        area = math.pi * HALF_WIDTH_KM * HALF_HEIGHT_KM * 0.85
        self.s = math.sqrt(area / n_cells_wanted / (1.5 * math.sqrt(3)))   # hexagon side, km
        ux, uy = self.s * math.sqrt(3) / 2, self.s / 2
        nx = int(math.ceil(2 * HALF_WIDTH_KM / (2 * ux))) + 2
        ny = int(math.ceil(2 * HALF_HEIGHT_KM / (3 * uy))) + 2
        j, i = np.mgrid[0:ny, 0:nx]
        X = 2 * i + (j & 1)
        Y = 3 * j
        self.X, self.Y = X.ravel(), Y.ravel()
        x0 = -nx * ux
        y0 = -ny * 1.5 * self.s / 2
        self.cx = x0 + self.X * ux
        self.cy = y0 + self.Y * uy
        self.ux, self.uy, self.x0, self.y0 = ux, uy, x0, y0
        index = {(x, y): k for k, (x, y) in enumerate(zip(self.X.tolist(), self.Y.tolist()))}
        n = self.X.size
        self.nbr = np.full((n, 6), -1, dtype=np.int64)
        for e, (dx, dy) in enumerate(_NEIGHBOURS):
            self.nbr[:, e] = [index.get((x + dx, y + dy), -1)
                              for x, y in zip(self.X.tolist(), self.Y.tolist())]
        # corner vertices, shared between cells through their integer keys
        vindex: dict[tuple[int, int], int] = {}
        self.corner = np.empty((n, 6), dtype=np.int64)
        for k, (x, y) in enumerate(zip(self.X.tolist(), self.Y.tolist())):
            for c, (dx, dy) in enumerate(_CORNERS):
                key = (x + dx, y + dy)
                v = vindex.get(key)
                if v is None:
                    v = vindex[key] = len(vindex)
                self.corner[k, c] = v
        keys = np.array(list(vindex.keys()), dtype=np.float64)
        self.vx = x0 + keys[:, 0] * ux
        self.vy = y0 + keys[:, 1] * uy
        jitter = 0.18 * self.s
        self.vx += rng.uniform(-jitter, jitter, self.vx.size)
        self.vy += rng.uniform(-jitter, jitter, self.vy.size)

    def components(self, mask: np.ndarray) -> list[np.ndarray]:
        seen = np.zeros(mask.size, dtype=bool)
        out = []
        for start in np.flatnonzero(mask):
            if seen[start]:
                continue
            seen[start] = True
            stack, comp = [start], []
            while stack:
                c = stack.pop()
                comp.append(c)
                for nb in self.nbr[c]:
                    if nb >= 0 and mask[nb] and not seen[nb]:
                        seen[nb] = True
                        stack.append(nb)
            out.append(np.array(comp))
        return out


def _city_mask(lat: _Lattice, rng: np.random.Generator) -> np.ndarray:
    """Cells inside an irregular, star-shaped city outline (connected, without holes)."""
    theta = np.arctan2(lat.cy / HALF_HEIGHT_KM, lat.cx / HALF_WIDTH_KM)
    rad = np.hypot(lat.cx / HALF_WIDTH_KM, lat.cy / HALF_HEIGHT_KM)
    wobble = np.zeros_like(theta)
    grid = np.linspace(-np.pi, np.pi, 721)
    wobble_grid = np.zeros_like(grid)
    for k, amp in ((2, 0.07), (3, 0.06), (4, 0.035), (5, 0.03), (7, 0.02), (11, 0.012)):
        phase = rng.uniform(0, 2 * np.pi)
        a = amp * rng.uniform(0.6, 1.0)
        wobble += a * np.cos(k * theta + phase)
        wobble_grid += a * np.cos(k * grid + phase)
    limit = (1.0 + wobble) / (1.0 + wobble_grid.max()) * 0.97
    mask = rad <= limit
    comps = lat.components(mask)
    keep = max(comps, key=len)
    mask = np.zeros_like(mask)
    mask[keep] = True
    outside = lat.components(~mask)           # fill holes: non-city parts not touching the edge
    border = np.zeros(mask.size, dtype=bool)
    border[(lat.nbr < 0).any(axis=1)] = True
    for comp in outside:
        if not border[comp].any():
            mask[comp] = True
    return mask


def _noise(lat: _Lattice, rng: np.random.Generator, wavelength: float = 12.0) -> np.ndarray:
    """A smooth random field (six plane waves around ``wavelength`` km) over the cell centres,
    roughly unit variance."""
    out = np.zeros(lat.cx.size)
    for _ in range(6):
        ang = rng.uniform(0, np.pi)
        wave = wavelength * rng.uniform(0.6, 1.6)
        out += np.sin((np.cos(ang) * lat.cx + np.sin(ang) * lat.cy) * 2 * np.pi / wave
                      + rng.uniform(0, 2 * np.pi))
    return out / math.sqrt(3.0)


def _warped(lat: _Lattice, rng: np.random.Generator, wavelength: float,
            amp: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres displaced by a smooth random field: straight Voronoi edges become wavy."""
    return (lat.cx + amp * _noise(lat, rng, wavelength),
            lat.cy + amp * _noise(lat, rng, wavelength))


def _power_partition(lat: _Lattice, cells: np.ndarray, sx: np.ndarray, sy: np.ndarray,
                     targets: np.ndarray, wx: np.ndarray, wy: np.ndarray,
                     lloyd: int = 8) -> np.ndarray | None:
    """Split ``cells`` into len(sx) connected regions sized like ``targets``.

    A power diagram in warped coordinates: the additive weights are tuned until the region
    sizes match their targets, the sites move to their region's centroid for the first
    ``lloyd`` rounds (compact shapes), and stray fragments join a neighbouring region at the
    end. Returns a label per cell (0..k-1), or None when a region came out empty.
    """
    k = sx.size
    n = cells.size
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    if n < k:
        return None
    px, py = wx[cells], wy[cells]
    want = targets / targets.sum() * n
    cell_area = 1.5 * math.sqrt(3) * lat.s ** 2
    w = np.zeros(k)
    sx, sy = sx.astype(float).copy(), sy.astype(float).copy()
    lab = np.zeros(n, dtype=np.int64)
    for it in range(80):
        d2 = (px[:, None] - sx[None, :]) ** 2 + (py[:, None] - sy[None, :]) ** 2 - w[None, :]
        lab = np.argmin(d2, axis=1)
        size = np.bincount(lab, minlength=k)
        if it < 4 * lloyd and it % 4 == 3:
            has = size > 0
            sx[has] = np.bincount(lab, weights=px, minlength=k)[has] / size[has]
            sy[has] = np.bincount(lab, weights=py, minlength=k)[has] / size[has]
        elif it >= 4 * lloyd and np.all(np.abs(size - want) <= np.maximum(1.0, 0.06 * want)):
            break
        w += 0.35 * cell_area * (want - size) / np.sqrt(np.maximum(want, 1.0)) * 2.0
    # keep the largest connected piece of each region; fragments join a neighbour
    member = np.full(lat.cx.size, -1, dtype=np.int64)
    member[cells] = lab
    label = member.copy()
    for r in range(k):
        mask_r = member == r
        if not mask_r.any():
            return None
        comps = lat.components(mask_r)
        if len(comps) > 1:
            biggest = max(comps, key=len)
            for comp in comps:
                if comp is not biggest:
                    label[comp] = -2
    pending = np.flatnonzero(label == -2)
    while pending.size:
        progressed = False
        for c in pending.tolist():
            nb = lat.nbr[c]
            labels = [label[x] for x in nb if x >= 0 and label[x] >= 0]
            if labels:
                label[c] = max(set(labels), key=labels.count)
                progressed = True
        pending = np.flatnonzero(label == -2)
        if not progressed:
            return None
    return label[cells]


def _grow(lat: _Lattice, allowed: np.ndarray, seeds: list[int], targets: np.ndarray,
          noise: np.ndarray, owner: np.ndarray) -> None:
    """Partition the (connected) allowed cells into len(seeds) connected regions.

    Regions grow one cell at a time, always the one furthest below its target size, taking its
    frontier cell nearest to its seed (distance bent by the noise field).
    """
    k_regions = len(seeds)
    local = np.full(allowed.size, -1, dtype=np.int64)
    sx = lat.cx[seeds]
    sy = lat.cy[seeds]
    amp = 0.45 * lat.s * math.sqrt(max(1.0, allowed.sum() / max(1, k_regions)))
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(k_regions)]
    size = np.ones(k_regions)

    def push_neighbours(k: int, c: int) -> None:
        for nb in lat.nbr[c]:
            if nb >= 0 and allowed[nb] and local[nb] < 0:
                d = math.hypot(lat.cx[nb] - sx[k], lat.cy[nb] - sy[k]) + amp * noise[nb]
                heapq.heappush(heaps[k], (d, int(nb)))

    for k, c in enumerate(seeds):
        local[c] = k
    for k, c in enumerate(seeds):
        push_neighbours(k, c)
    queue = [(1.0 / targets[k], k) for k in range(k_regions)]
    heapq.heapify(queue)
    while queue:
        _, k = heapq.heappop(queue)
        h = heaps[k]
        while h and local[h[0][1]] >= 0:
            heapq.heappop(h)
        if not h:
            continue                              # enclosed: this region is done
        _, c = heapq.heappop(h)
        local[c] = k
        size[k] += 1
        push_neighbours(k, c)
        heapq.heappush(queue, (size[k] / targets[k], k))
    cells = np.flatnonzero(allowed)
    owner[cells] = local[cells]


def _partition(lat: _Lattice, allowed: np.ndarray, seeds: list[int], targets: np.ndarray,
               noise: np.ndarray, owner: np.ndarray, relax: int = 3) -> None:
    """_grow, then move each seed to its region's centre and grow again (compact regions)."""
    cells = np.flatnonzero(allowed)
    for it in range(relax + 1):
        local = np.full(allowed.size, -1, dtype=np.int64)
        _grow(lat, allowed, seeds, targets, noise, local)
        if it == relax:
            break
        lab = local[cells]
        n = len(seeds)
        cnt = np.bincount(lab, minlength=n)
        mx = np.bincount(lab, weights=lat.cx[cells], minlength=n) / np.maximum(cnt, 1)
        my = np.bincount(lab, weights=lat.cy[cells], minlength=n) / np.maximum(cnt, 1)
        d = np.hypot(lat.cx[cells] - mx[lab], lat.cy[cells] - my[lab])
        order = np.lexsort((d, lab))
        first = np.r_[True, lab[order][1:] != lab[order][:-1]]
        best = cells[order[first]]                  # one per region, regions in order 0..n-1
        seeds = [int(c) for c in best]
    owner[cells] = local[cells]


def _spread_seeds(lat: _Lattice, cells: np.ndarray, k: int, rng: np.random.Generator,
                  first: int | None = None) -> list[int]:
    """k well spread cells of a region (farthest-point sampling from a random start)."""
    if first is None:
        first = int(cells[rng.integers(cells.size)])
    seeds = [first]
    d = np.hypot(lat.cx[cells] - lat.cx[first], lat.cy[cells] - lat.cy[first])
    while len(seeds) < k:
        score = d * rng.uniform(0.85, 1.0, cells.size)
        nxt = int(cells[np.argmax(score)])
        seeds.append(nxt)
        d = np.minimum(d, np.hypot(lat.cx[cells] - lat.cx[nxt], lat.cy[cells] - lat.cy[nxt]))
    # order does not matter, but keep it stable by position for reproducible naming
    return seeds


# ---------------------------------------------------------------- polygons

def _region_rings(lat: _Lattice, cells: np.ndarray, member: np.ndarray) -> list[list[int]]:
    """Boundary rings (vertex ids, closed implicitly) of a set of cells; outer CCW, holes CW."""
    nxt: dict[int, int] = {}
    for c in cells.tolist():
        corners = lat.corner[c]
        for e in range(6):
            nb = lat.nbr[c, e]
            if nb >= 0 and member[nb]:
                continue
            nxt[int(corners[e])] = int(corners[(e + 1) % 6])
    rings = []
    while nxt:
        start, v = next(iter(nxt.items()))
        del nxt[start]
        ring = [start]
        while v != start:
            ring.append(v)
            v = nxt.pop(v)
        rings.append(ring)
    return rings


def _signed_area(xs: np.ndarray, ys: np.ndarray) -> float:
    return 0.5 * float(np.dot(xs, np.roll(ys, -1)) - np.dot(np.roll(xs, -1), ys))


def _point_in_ring(x: float, y: float, xs: np.ndarray, ys: np.ndarray) -> bool:
    x2, y2 = np.roll(xs, -1), np.roll(ys, -1)
    crosses = (ys > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = xs + (y - ys) * (x2 - xs) / (y2 - ys)
    return bool(np.count_nonzero(crosses & (x < xi)) % 2)


def _douglas_peucker(px: np.ndarray, py: np.ndarray, tol: float) -> list[int]:
    """Indices kept by Douglas-Peucker (end points always; at least one interior point)."""
    n = px.size
    if n <= 2:
        return list(range(n))
    keep = {0, n - 1}
    stack = [(0, n - 1)]
    first = True
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        dx, dy = px[b] - px[a], py[b] - py[a]
        seg = math.hypot(dx, dy)
        ix = np.arange(a + 1, b)
        if seg == 0:
            dist = np.hypot(px[ix] - px[a], py[ix] - py[a])
        else:
            dist = np.abs(dy * (px[ix] - px[a]) - dx * (py[ix] - py[a])) / seg
        m = int(np.argmax(dist))
        if dist[m] > tol or first:
            first = False
            keep.add(int(ix[m]))
            stack.append((a, int(ix[m])))
            stack.append((int(ix[m]), b))
    return sorted(keep)


def _smooth_and_simplify(lat: _Lattice, rings: list[list[int]], iterations: int = 3,
                         tol_factor: float = 0.12) -> np.ndarray:
    """Smooth the shared boundary network in place and return the vertex ids to keep."""
    adj: dict[int, set[int]] = {}
    for ring in rings:
        for a, b in zip(ring, ring[1:] + ring[:1]):
            adj.setdefault(a, set()).add(b)
            adj.setdefault(b, set()).add(a)
    verts = np.array(sorted(adj), dtype=np.int64)
    junction = {v for v, nb in adj.items() if len(nb) != 2}
    free = np.array([v for v in verts.tolist() if v not in junction], dtype=np.int64)
    if free.size:
        pairs = np.array([sorted(adj[v]) for v in free.tolist()], dtype=np.int64)
        for _ in range(iterations):
            mx = 0.5 * (lat.vx[pairs[:, 0]] + lat.vx[pairs[:, 1]])
            my = 0.5 * (lat.vy[pairs[:, 0]] + lat.vy[pairs[:, 1]])
            lat.vx[free] += 0.5 * (mx - lat.vx[free])
            lat.vy[free] += 0.5 * (my - lat.vy[free])

    # simplify chain by chain (a chain runs between junctions; identical for both sides)
    keep = set(junction)
    visited: set[tuple[int, int]] = set()
    tol = tol_factor * lat.s

    def walk(a: int, b: int) -> list[int]:
        chain = [a, b]
        visited.add((a, b))
        visited.add((b, a))
        while chain[-1] not in junction and chain[-1] != chain[0]:
            prev, cur = chain[-2], chain[-1]
            nxt = next(iter(adj[cur] - {prev}))
            visited.add((cur, nxt))
            visited.add((nxt, cur))
            chain.append(nxt)
        return chain

    def simplify(chain: list[int]) -> None:
        ids = np.array(chain, dtype=np.int64)
        for i in _douglas_peucker(lat.vx[ids], lat.vy[ids], tol):
            keep.add(int(ids[i]))

    for j in junction:
        for nb in adj[j]:
            if (j, nb) not in visited:
                simplify(walk(j, nb))
    for v in verts.tolist():                     # closed loops without any junction
        if all((v, nb) in visited for nb in adj[v]):
            continue
        nb = next(iter(adj[v]))
        loop = walk(v, nb)                       # ends back at v
        q = len(loop) - 1
        marks = sorted({0, q // 4, q // 2, (3 * q) // 4, q})
        for a, b in zip(marks, marks[1:]):
            simplify(loop[a:b + 1])
    return np.array(sorted(keep), dtype=np.int64)


def _to_lonlat(lat: _Lattice, ring: list[int]) -> list[list[float]]:
    ids = np.array(ring + ring[:1], dtype=np.int64)
    lon = np.round(CENTER_LON + lat.vx[ids] / KM_PER_DEG_LON, 5)
    la = np.round(CENTER_LAT + lat.vy[ids] / KM_PER_DEG_LAT, 5)
    out: list[list[float]] = []
    for x, y in zip(lon.tolist(), la.tolist()):
        if not out or out[-1] != [x, y]:
            out.append([x, y])
    return out


def _geometry(lat: _Lattice, rings: list[list[int]]) -> dict:
    outers, holes = [], []
    for ring in rings:
        ids = np.array(ring)
        area = _signed_area(lat.vx[ids], lat.vy[ids])
        (outers if area > 0 else holes).append(ring)
    polys: list[list[list[int]]] = [[o] for o in outers]
    for h in holes:
        hx, hy = lat.vx[h[0]], lat.vy[h[0]]
        for poly in polys:
            ids = np.array(poly[0])
            if len(polys) == 1 or _point_in_ring(hx, hy, lat.vx[ids], lat.vy[ids]):
                poly.append(h)
                break
    coords = [[_to_lonlat(lat, r) for r in poly] for poly in polys]
    if len(coords) == 1:
        return {"type": "Polygon", "coordinates": coords[0]}
    return {"type": "MultiPolygon", "coordinates": coords}


# ---------------------------------------------------------------- public

def generate_boundaries(units: pd.DataFrame, *, seed: int = 2026) -> dict:
    """GeoJSON FeatureCollection: one Polygon/MultiPolygon feature per district and per street,
    properties {"code", "name", "level"}; streets tile their district without gaps/overlaps."""
    rng = np.random.default_rng([int(seed), 97])
    level = units["level"].astype(str).str.strip().map(LEVEL_ALIASES)
    codes = units["code"].astype(str).str.strip()
    names = units["name"].astype(str)
    parents = units["parent_code"].astype(object).where(units["parent_code"].notna(), None)
    d_rows = units.index[level == "district"]
    d_codes = sorted(codes[d_rows].tolist())
    if not d_codes:
        return {"type": "FeatureCollection", "features": []}
    d_name = dict(zip(codes[d_rows], names[d_rows]))
    s_rows = units.index[level == "street"]
    streets: dict[str, list[tuple[str, str]]] = {d: [] for d in d_codes}
    for code, name, parent in zip(codes[s_rows], names[s_rows], parents[s_rows]):
        parent = None if parent is None else str(parent).strip()
        if parent in streets:
            streets[parent].append((code, name))
    for d in d_codes:
        streets[d].sort()
    n_regions = sum(max(1, len(v)) for v in streets.values())

    lat = _Lattice(int(min(40000, max(900, 30 * n_regions))), rng)
    mask = _city_mask(lat, rng)
    city = np.flatnonzero(mask)
    city_area = city.size * 1.5 * math.sqrt(3) * lat.s ** 2

    def weight(name: str) -> float:
        return 2.4 if name.endswith(("镇", "乡")) else 1.0

    # districts: sites at their places (or around a circle), wavy borders
    d_target = np.array([sum(weight(n) for _, n in streets[d]) or 1.0 for d in d_codes])
    d_size = math.sqrt(city_area / len(d_codes))
    wx, wy = _warped(lat, rng, 1.6 * d_size, 0.10 * d_size)
    sites = []
    for k, d in enumerate(d_codes):
        place = _DISTRICT_PLACES.get(d_name[d])
        if place is None or len(d_codes) > len(_DISTRICT_PLACES):
            ang = 2 * math.pi * k / len(d_codes) + 0.4
            place = (0.55 * math.cos(ang), 0.55 * math.sin(ang))
        sites.append((place[0] * HALF_WIDTH_KM, place[1] * HALF_HEIGHT_KM))
    sites = np.array(sites)
    d_lab = _power_partition(lat, city, sites[:, 0], sites[:, 1], d_target, wx, wy, lloyd=2)
    d_owner = np.full(mask.size, -1, dtype=np.int64)
    if d_lab is None:                                   # fallback: balanced region growing
        seeds = [int(city[np.argmin(np.hypot(lat.cx[city] - x, lat.cy[city] - y))])
                 for x, y in sites]
        _partition(lat, mask, list(dict.fromkeys(seeds)), d_target, _noise(lat, rng), d_owner)
    else:
        d_owner[city] = d_lab

    # streets inside each district
    n_streets = max(1, sum(len(v) for v in streets.values()))
    s_size = math.sqrt(city_area / n_streets)
    wx, wy = _warped(lat, rng, 1.8 * s_size, 0.12 * s_size)
    s_owner = np.full(mask.size, -1, dtype=np.int64)
    s_list: list[tuple[str, str, int]] = []       # code, name, district index
    for k, d in enumerate(d_codes):
        allowed = d_owner == k
        cells = np.flatnonzero(allowed)
        members = streets[d][:cells.size]
        if not members:
            continue
        seeds = _spread_seeds(lat, cells, len(members), rng)
        targets = np.array([weight(n) for _, n in members])
        # towns (bigger) take the outer sites; streets the inner ones
        by_weight = np.argsort(-targets, kind="stable")
        by_radius = sorted(seeds, key=lambda c: -math.hypot(lat.cx[c] / HALF_WIDTH_KM,
                                                             lat.cy[c] / HALF_HEIGHT_KM))
        ordered = [0] * len(seeds)
        for m, c in zip(by_weight, by_radius):
            ordered[m] = c
        ordered_arr = np.array(ordered)
        lab = _power_partition(lat, cells, wx[ordered_arr], wy[ordered_arr], targets, wx, wy)
        if lab is None:
            local = np.full(mask.size, -1, dtype=np.int64)
            _partition(lat, allowed, ordered, targets, _noise(lat, rng), local)
            lab = local[cells]
        base = len(s_list)
        for code, name in members:
            s_list.append((code, name, k))
        s_owner[cells] = base + lab

    # rings on the lattice, shared smoothing and simplification
    street_rings = []
    for i in range(len(s_list)):
        member = s_owner == i
        street_rings.append(_region_rings(lat, np.flatnonzero(member), member))
    district_rings = []
    for k in range(len(d_codes)):
        member = d_owner == k
        district_rings.append(_region_rings(lat, np.flatnonzero(member), member))
    network = [r for rings in street_rings + district_rings for r in rings]
    keep = np.zeros(lat.vx.size, dtype=bool)
    keep[_smooth_and_simplify(lat, network)] = True

    def pruned(rings: list[list[int]]) -> list[list[int]]:
        return [[v for v in r if keep[v]] for r in rings]

    features = []
    for k, d in enumerate(d_codes):
        features.append({"type": "Feature",
                         "properties": {"code": d, "name": d_name[d], "level": "district"},
                         "geometry": _geometry(lat, pruned(district_rings[k]))})
    for i, (code, name, _) in enumerate(s_list):
        features.append({"type": "Feature",
                         "properties": {"code": code, "name": name, "level": "street"},
                         "geometry": _geometry(lat, pruned(street_rings[i]))})
    return {"type": "FeatureCollection", "features": features}


def _is_number(x) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(float(x))


def validate_boundaries(fc: dict, unit_codes: set[str]) -> list[str]:
    """Problems in Chinese (not a FeatureCollection, feature without properties.code, code not in units,
    geometry not Polygon/MultiPolygon, ring not closed / fewer than 4 points, coordinates not numbers/out of lon-lat range). Empty list = valid."""
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection" \
            or not isinstance(fc.get("features"), list):
        return ["不是 GeoJSON FeatureCollection（需要 type 为 FeatureCollection 且含 features 列表）"]
    problems: list[str] = []
    codes = {str(c) for c in unit_codes}
    seen: set[str] = set()
    for i, feature in enumerate(fc["features"], start=1):
        where = f"第 {i} 个要素"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"{where}不是 GeoJSON Feature")
            continue
        props = feature.get("properties")
        code = props.get("code") if isinstance(props, dict) else None
        if code is None or (isinstance(code, str) and not code.strip()):
            problems.append(f"{where}缺少 properties.code")
        else:
            if not isinstance(code, str):
                problems.append(f"{where}的 properties.code 应为字符串，实际为 {code!r}")
            code = str(code).strip()
            where = f"{where}（代码 {code}）"
            if code not in codes:
                problems.append(f"{where}的代码不在区划表中")
            if code in seen:
                problems.append(f"{where}的代码重复出现")
            seen.add(code)
        geom = feature.get("geometry")
        gtype = geom.get("type") if isinstance(geom, dict) else None
        if gtype not in ("Polygon", "MultiPolygon"):
            problems.append(f"{where}的几何类型应为 Polygon 或 MultiPolygon，实际为 {gtype}")
            continue
        coords = geom.get("coordinates")
        polygons = [coords] if gtype == "Polygon" else coords
        if not isinstance(polygons, list) or not polygons:
            problems.append(f"{where}没有坐标")
            continue
        for p, poly in enumerate(polygons, start=1):
            pwhere = where if gtype == "Polygon" else f"{where}第 {p} 个多边形"
            if not isinstance(poly, list) or not poly:
                problems.append(f"{pwhere}没有环")
                continue
            for r, ring in enumerate(poly, start=1):
                rwhere = f"{pwhere}第 {r} 个环"
                if not isinstance(ring, list):
                    problems.append(f"{rwhere}不是坐标列表")
                    continue
                bad_pos = [pos for pos in ring if not (
                    isinstance(pos, (list, tuple)) and len(pos) >= 2
                    and _is_number(pos[0]) and _is_number(pos[1]))]
                if bad_pos:
                    problems.append(f"{rwhere}有 {len(bad_pos)} 个坐标不是数值对，例如 {bad_pos[0]!r}")
                    continue
                out = [pos for pos in ring
                       if not (-180 <= pos[0] <= 180 and -90 <= pos[1] <= 90)]
                if out:
                    problems.append(f"{rwhere}有 {len(out)} 个坐标超出经纬度范围，例如 {list(out[0])!r}")
                if len(ring) < 4:
                    problems.append(f"{rwhere}少于 4 个点（{len(ring)} 个）")
                elif list(ring[0][:2]) != list(ring[-1][:2]):
                    problems.append(f"{rwhere}未闭合（首点 {list(ring[0])} 与末点 {list(ring[-1])} 不同）")
    return problems
