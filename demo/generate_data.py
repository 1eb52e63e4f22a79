"""Generate the demo's raw files: utility meters and their readings, with a few dirty rows.

Deterministic (fixed seed); the output is committed, so this only runs when the data set
changes: python demo/generate_data.py
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).parent / "data"
REGIONS = ("north", "south", "east", "west", "central")
TARIFFS = (("residential", 0.6), ("commercial", 0.3), ("industrial", 0.1))
START = datetime(2026, 11, 1)
DAYS = 14
READS_PER_DAY = 4


def main() -> None:
    rng = random.Random(20261124)
    OUT.mkdir(exist_ok=True)
    meters = []
    for i in range(1, 201):
        tariff = rng.choices([t for t, _ in TARIFFS], [w for _, w in TARIFFS])[0]
        installed = START - timedelta(days=rng.randint(30, 3000))
        meters.append((f"M{i:04d}", rng.choice(REGIONS), tariff, installed.date().isoformat()))
    with open(OUT / "meters.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["meter_id", "region", "tariff", "installed_on"])
        w.writerows(meters)

    base = {"residential": 0.4, "commercial": 3.0, "industrial": 25.0}
    rows = []
    for meter_id, _region, tariff, _ in meters:
        for day in range(DAYS):
            for slot in range(READS_PER_DAY):
                at = START + timedelta(days=day, hours=6 * slot)
                kwh = max(0.0, rng.gauss(base[tariff] * 6, base[tariff]))
                rows.append([meter_id, at.strftime("%Y-%m-%d %H:%M:%S"), f"{kwh:.3f}"])
    dirty = rng.sample(range(len(rows)), 40)
    for n, index in enumerate(dirty):
        row = list(rows[index])
        kind = n % 5
        if kind == 0:
            rows.append(row)  # an exact duplicate delivery
        elif kind == 1:
            rows[index][2] = f"-{row[2]}"  # a negative reading (meter reset)
        elif kind == 2:
            rows[index][2] = ""  # a missing value
        elif kind == 3:
            rows[index][1] = row[1].replace("-", "/").replace(" ", "T") + "Z?"  # garbled time
        else:
            rows.append([f"X{9000 + n}", row[1], row[2]])  # a meter nobody registered
    rng.shuffle(rows)
    with open(OUT / "readings.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["meter_id", "read_at", "kwh"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
