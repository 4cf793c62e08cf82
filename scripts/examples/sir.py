#!/usr/bin/env python3
"""A stochastic SIR epidemic in a well-mixed population (Gillespie's method).

A clabfs experiment: it reads one point of the parameter space as a JSON
object on stdin, simulates one epidemic, and prints its results as one JSON
object on stdout. Parameters (all optional):
  beta   infection rate per contact          (default 0.3)
  gamma  recovery rate                       (default 0.1)
  N      population size                     (default 1000)
  I0     initially infected                  (default 5)
  seed   random seed                         (default: fresh)
"""
import json
import random
import sys

p = json.loads(sys.stdin.readline())
beta, gamma = float(p.get("beta", 0.3)), float(p.get("gamma", 0.1))
N, I = int(p.get("N", 1000)), int(p.get("I0", 5))
rng = random.Random(p.get("seed"))

S, R, t, peak = N - I, 0, 0.0, I
while I > 0:
    infect, recover = beta * S * I / N, gamma * I
    t += rng.expovariate(infect + recover)
    if rng.random() * (infect + recover) < infect:
        S, I = S - 1, I + 1
    else:
        I, R = I - 1, R + 1
    peak = max(peak, I)

json.dump({"final_size": R / N, "peak_infected": peak, "duration": t}, sys.stdout)
print()
