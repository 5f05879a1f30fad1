#!/usr/bin/env python3
"""Regenerates gui/data/land-110m.txt, the land the map draws offline, from Natural
Earth's 1:110m admin-0 countries (public domain), as shipped inside the geopandas
0.14.4 wheel on PyPI (geopandas/datasets/naturalearth_lowres). Usage:

    pip download geopandas==0.14.4 --no-deps -d /tmp/ne
    python3 scripts/natural-earth.py /tmp/ne/geopandas-0.14.4-py3-none-any.whl > gui/data/land-110m.txt

Reads the shapefile with the standard library only, rounds coordinates to 0.01
degree, and triangulates each outer ring by ear clipping, so that the map fills
land with a plain triangle mesh. The output format is described in docs/flight-map.md.
"""
import struct
import sys
import zipfile

SHP = "geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp"
DBF = "geopandas/datasets/naturalearth_lowres/naturalearth_lowres.dbf"


def polygons(shp):
    """Each record's rings: lists of (lon, lat)."""
    pos = 100
    while pos < len(shp):
        _, length = struct.unpack(">ii", shp[pos:pos + 8])
        body = shp[pos + 8:pos + 8 + 2 * length]
        pos += 8 + 2 * length
        (kind,) = struct.unpack("<i", body[:4])
        if kind != 5:
            yield []
            continue
        nparts, npoints = struct.unpack("<ii", body[36:44])
        parts = list(struct.unpack(f"<{nparts}i", body[44:44 + 4 * nparts]))
        at = 44 + 4 * nparts
        points = [struct.unpack("<dd", body[at + 16 * i:at + 16 * i + 16]) for i in range(npoints)]
        rings = []
        for i, start in enumerate(parts):
            end = parts[i + 1] if i + 1 < nparts else npoints
            rings.append(points[start:end])
        yield rings


def names(dbf):
    """The `name` column of every record."""
    count, header, record = struct.unpack("<IHH", dbf[4:12])
    fields, at = [], 32
    while dbf[at] != 0x0D:
        fname = dbf[at:at + 11].split(b"\0")[0].decode()
        flen = dbf[at + 16]
        fields.append((fname, flen))
        at += 32
    out = []
    for r in range(count):
        row = dbf[header + r * record + 1:header + (r + 1) * record]
        off = 0
        for fname, flen in fields:
            if fname == "name":
                out.append(row[off:off + flen].decode("utf-8", "replace").strip())
            off += flen
    return out


def area2(ring):
    """Twice the signed area: positive for a clockwise ring (x east, y north)."""
    return sum(ring[i][0] * ring[i - 1][1] - ring[i - 1][0] * ring[i][1] for i in range(len(ring)))


def clean(ring):
    """Rounded to 0.01°, without the closing point or repeated points."""
    out = []
    for lon, lat in ring:
        p = (round(lon, 2), round(lat, 2))
        if not out or out[-1] != p:
            out.append(p)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def inside(p, a, b, c):
    def side(u, v, w):
        return (v[0] - u[0]) * (w[1] - u[1]) - (v[1] - u[1]) * (w[0] - u[0])
    s1, s2, s3 = side(a, b, p), side(b, c, p), side(c, a, p)
    return (s1 >= 0 and s2 >= 0 and s3 >= 0) or (s1 <= 0 and s2 <= 0 and s3 <= 0)


def triangulate(ring):
    """Ear clipping of a simple polygon: index triples into `ring`."""
    idx = list(range(len(ring)))
    if area2(ring) > 0:
        idx.reverse()  # ears are found walking counter-clockwise
    tris, guard = [], 0
    while len(idx) > 3 and guard < 10 * len(ring) ** 2:
        guard += 1
        n = len(idx)
        for k in range(n):
            i, j, l = idx[k - 1], idx[k], idx[(k + 1) % n]
            a, b, c = ring[i], ring[j], ring[l]
            cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
            if cross <= 0:
                continue
            if any(inside(ring[m], a, b, c) for m in idx if m not in (i, j, l) and ring[m] not in (a, b, c)):
                continue
            tris.append((i, j, l))
            del idx[k]
            break
        else:
            # No ear (a degenerate stretch): drop the sharpest vertex's triangle.
            tris.append((idx[-1], idx[0], idx[1]))
            del idx[0]
    if len(idx) == 3:
        tris.append(tuple(idx))
    return tris


def main():
    with zipfile.ZipFile(sys.argv[1]) as wheel:
        shp, dbf = wheel.read(SHP), wheel.read(DBF)
    print("# Natural Earth 1:110m admin-0 countries (public domain, naturalearthdata.com),")
    print("# from the geopandas 0.14.4 wheel; made by scripts/natural-earth.py. Format v1:")
    print("# `C name` a country; `R lon lat ...` an outer ring, `T i j k ...` its triangles")
    print("# (indices into that ring); `H lon lat ...` a hole (outline only). Degrees, 0.01.")
    print("v1")
    for name, rings in zip(names(dbf), polygons(shp)):
        print(f"C {name}")
        for ring in rings:
            ring = clean(ring)
            if len(ring) < 3:
                continue
            coords = " ".join(f"{lon:g} {lat:g}" for lon, lat in ring)
            # Shapefile outer rings run clockwise, holes counter-clockwise.
            if area2(ring) > 0:
                print(f"R {coords}")
                print("T " + " ".join(f"{i} {j} {k}" for i, j, k in triangulate(ring)))
            else:
                print(f"H {coords}")


if __name__ == "__main__":
    main()
