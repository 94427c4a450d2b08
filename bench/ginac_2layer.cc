// ginac_2layer.cc: a reference for bench/deep.sh: the 2-layer proof by GiNaC normal forms, timed.
//
// usage: g++ -O2 bench/ginac_2layer.cc -o ginac_2layer -lginac -lcln && ./ginac_2layer [N_X N_H M]
// (default 4 16 64, the sizes of bench/deepnet.sh 2; needs libginac-dev; not part of make check)
//
// The same problem as bench/sympy_2layer.py: every entry of X, Y, W2 and of
// the activations A1, A2 is a free symbol (as derivcheck's exact test treats
// the activations), the deferred and absorbed placements' parameter
// gradients are built entry by entry, and each entry's difference is
// expanded to its normal form, which must be 0. Prints the sizes, the CPU
// seconds taken and whether every difference is 0; exits 1 if one is not.
#include <ginac/ginac.h>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <string>
#include <vector>

using GiNaC::ex;
using GiNaC::numeric;
using GiNaC::symbol;

namespace
{

// A ROWS x COLS matrix of entries, row-major.
struct mat {
    long rows, cols;
    std::vector<ex> e;
    mat(long r, long c) : rows(r), cols(c), e(static_cast<size_t>(r * c), ex(0)) {}
    ex &at(long i, long j) { return e[static_cast<size_t>(i * cols + j)]; }
    const ex &at(long i, long j) const { return e[static_cast<size_t>(i * cols + j)]; }
};

// A matrix of fresh symbols NAME_i_j.
mat
symbols(const std::string &name, long rows, long cols)
{
    mat a(rows, cols);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            a.at(i, j) = symbol(name + "_" + std::to_string(i) + "_" + std::to_string(j));
    return a;
}

// A @ B.T (the product of A with the transpose of B).
mat
times_transpose(const mat &a, const mat &b)
{
    mat r(a.rows, b.rows);
    for (long i = 0; i < a.rows; i++)
        for (long j = 0; j < b.rows; j++) {
            ex s = 0;
            for (long k = 0; k < a.cols; k++)
                s += a.at(i, k) * b.at(j, k);
            r.at(i, j) = s;
        }
    return r;
}

// Each row's sum, a column.
mat
row_sums(const mat &a)
{
    mat r(a.rows, 1);
    for (long i = 0; i < a.rows; i++) {
        ex s = 0;
        for (long j = 0; j < a.cols; j++)
            s += a.at(i, j);
        r.at(i, 0) = s;
    }
    return r;
}

mat
scaled(const mat &a, const ex &c)
{
    mat r = a;
    for (auto &v : r.e)
        v = c * v;
    return r;
}

struct inputs {
    mat x, y, w2, a1, a2;
};

// The four parameter gradients of one placement: absorbed puts 1/m in dZ2,
// deferred in dW and db.
std::map<std::string, mat>
gradients(const inputs &in, long m, bool absorbed)
{
    ex scale = numeric(1, m);
    mat dz2(in.a2.rows, in.a2.cols);
    for (size_t k = 0; k < dz2.e.size(); k++)
        dz2.e[k] = (in.a2.e[k] - in.y.e[k]) * (absorbed ? scale : ex(1));
    // dZ1 = W2.T @ dZ2 * (1 - A1^2)
    mat dz1(in.a1.rows, in.a1.cols);
    for (long i = 0; i < dz1.rows; i++)
        for (long j = 0; j < dz1.cols; j++) {
            ex s = 0;
            for (long k = 0; k < dz2.rows; k++)
                s += in.w2.at(k, i) * dz2.at(k, j);
            dz1.at(i, j) = s * (1 - GiNaC::pow(in.a1.at(i, j), 2));
        }
    ex outer = absorbed ? ex(1) : scale;
    return {{"dW2", scaled(times_transpose(dz2, in.a1), outer)},
            {"db2", scaled(row_sums(dz2), outer)},
            {"dW1", scaled(times_transpose(dz1, in.x), outer)},
            {"db1", scaled(row_sums(dz1), outer)}};
}

} // namespace

int
main(int argc, char **argv)
{
    long n_x = 4, n_h = 16, m = 64;
    if (argc >= 4) {
        n_x = std::atol(argv[1]);
        n_h = std::atol(argv[2]);
        m = std::atol(argv[3]);
    }
    if (n_x < 1 || n_h < 1 || m < 1) {
        std::cerr << "usage: ginac_2layer [N_X N_H M], each at least 1\n";
        return 2;
    }
    std::clock_t start = std::clock();
    inputs in{symbols("X", n_x, m), symbols("Y", 1, m), symbols("W2", 1, n_h),
              symbols("A1", n_h, m), symbols("A2", 1, m)};
    auto deferred = gradients(in, m, false);
    auto absorbed = gradients(in, m, true);
    bool equal = true;
    for (const auto &[name, d] : deferred) {
        const mat &a = absorbed.at(name);
        for (size_t k = 0; k < d.e.size(); k++)
            if (!(d.e[k] - a.e[k]).expand().is_zero())
                equal = false;
    }
    double cpu = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
    std::cout << "GiNaC " << GINACLIB_MAJOR_VERSION << "." << GINACLIB_MINOR_VERSION << "."
              << GINACLIB_MICRO_VERSION << ": 2-layer proof, n_x = " << n_x << ", n_h = " << n_h
              << ", m = " << m << ": " << cpu
              << " s CPU, every parameter gradient equal: " << (equal ? "True" : "False") << "\n";
    return equal ? 0 : 1;
}
