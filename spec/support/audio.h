/**
 * @file audio.h  Test audio for the C unit tests (header only): sines and
 * the power at one frequency (Goertzel), as spec/support/lunatest/audio.py
 * measures recordings in the end-to-end tests.
 */
#include <math.h>
#include <stdint.h>


/** @a frames of a sine of @a hz at @a rate, @a ch channels interleaved,
 *  amplitude @a amp. */
static inline void make_sine(int16_t *out, size_t frames, unsigned ch,
			     double hz, double rate, double amp)
{
	for (size_t i = 0; i < frames; i++) {
		int16_t v = (int16_t)(amp * sin(2 * M_PI * hz * i / rate));

		for (unsigned c = 0; c < ch; c++)
			out[i * ch + c] = v;
	}
}


/** Power at @a hz, normalised so that a sine of amplitude A gives A²/2. */
static inline double goertzel(const int16_t *x, size_t n, double hz,
			      double rate)
{
	double coeff = 2 * cos(2 * M_PI * hz / rate), s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + coeff * s1 - s2;

		s2 = s1;
		s1 = s0;
	}

	return n ? 2 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / ((double)n * n)
		 : 0;
}


/** Mean power of the samples. */
static inline double power(const int16_t *x, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (double)x[i] * x[i];

	return n ? sum / n : 0;
}


/** Share of the power at @a hz, between 0 and 1 (about). */
static inline double tone_share(const int16_t *x, size_t n, double hz,
				double rate)
{
	double p = power(x, n);

	return p > 0 ? goertzel(x, n, hz, rate) / p : 0;
}
