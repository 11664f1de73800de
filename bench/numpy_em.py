"""A straightforward vectorised numpy EM for the Gaussian MoE with a softmax gate (reference
point for bench/em.bench.ts; never a test or runtime dependency).

Same algorithm as gatelab's EM: E-step by log-sum-exp, experts by weighted least squares,
gate by Newton steps (reference expert last pinned at 0) with step halving. Reads the data
and the start from a JSON file, runs a fixed number of iterations and prints seconds per
iteration and the final log-likelihood.
usage: /usr/bin/python3 bench/numpy_em.py INPUT.json ITERATIONS
"""
import json, sys, time
import numpy as np

def loglik_and_resp(X, Y, beta0, beta1, a, b, nu):
    s = beta0[None, :] + X[:, None] * beta1[None, :]
    logG = s - np.logaddexp.reduce(s, axis=1, keepdims=True)
    mean = X[:, None] * a[None, :] + b[None, :]
    logN = -0.5 * np.log(2 * np.pi * nu)[None, :] - (Y[:, None] - mean) ** 2 / (2 * nu[None, :])
    joint = logG + logN
    lse = np.logaddexp.reduce(joint, axis=1, keepdims=True)
    return lse.sum(), np.exp(joint - lse)

def gate_q(X, R, beta0, beta1):
    s = beta0[None, :] + X[:, None] * beta1[None, :]
    return (R * (s - np.logaddexp.reduce(s, axis=1, keepdims=True))).sum()

def gate_newton(X, R, beta0, beta1, steps):
    k = beta0.size
    Z = np.stack([np.ones_like(X), X], axis=1)            # n x 2
    for _ in range(steps):
        s = beta0[None, :] + X[:, None] * beta1[None, :]
        G = np.exp(s - np.logaddexp.reduce(s, axis=1, keepdims=True))
        D = R - G
        free = k - 1
        g = np.concatenate([D[:, i] @ Z for i in range(free)])
        Hm = np.zeros((2 * free, 2 * free))
        for i in range(free):
            for j in range(free):
                c = G[:, i] * ((i == j) - G[:, j])
                Hm[2*i:2*i+2, 2*j:2*j+2] = (Z * c[:, None]).T @ Z
        delta = np.linalg.solve(Hm, g)
        q0 = gate_q(X, R, beta0, beta1)
        step = 1.0
        for _ in range(30):
            nb0 = beta0.copy(); nb1 = beta1.copy()
            nb0[:free] += step * delta[0::2]; nb1[:free] += step * delta[1::2]
            if gate_q(X, R, nb0, nb1) >= q0:
                beta0, beta1 = nb0, nb1
                break
            step *= 0.5
    return beta0, beta1

def main():
    cfg = json.load(open(sys.argv[1]))
    iterations = int(sys.argv[2])
    X = np.array(cfg["x"]); Y = np.array(cfg["y"])
    e = cfg["start"]
    beta0 = np.array([t["beta0"] for t in e]); beta1 = np.array([t["beta1"][0] for t in e])
    a = np.array([t["a"][0] for t in e]); b = np.array([t["b"] for t in e]); nu = np.array([t["nu"] for t in e])
    steps = int(cfg.get("gateSteps", 1))
    Z = np.stack([X, np.ones_like(X)], axis=1)
    t0 = time.perf_counter()
    for _ in range(iterations):
        L, R = loglik_and_resp(X, Y, beta0, beta1, a, b, nu)
        for i in range(beta0.size):
            w = R[:, i]
            A = (Z * w[:, None]).T @ Z
            coef = np.linalg.solve(A, (Z * w[:, None]).T @ Y)
            a[i], b[i] = coef
            nu[i] = max((w * (Y - Z @ coef) ** 2).sum() / w.sum(), 1e-10)
        beta0, beta1 = gate_newton(X, R, beta0, beta1, steps)
    seconds = time.perf_counter() - t0
    L, _ = loglik_and_resp(X, Y, beta0, beta1, a, b, nu)
    print(json.dumps({"secondsPerIteration": seconds / iterations, "loglik": L}))

main()
