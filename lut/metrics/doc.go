// Package metrics measures how far a product table is from the exact
// multiplier of the same operand signedness, over all 65,536 operand pairs
// (Compute) or under given operand distributions (Weighted).
//
// With e = approx - exact for each pair:
//
//	MAE  mean |e|                       WCE  max |e|
//	EP   fraction of pairs with e != 0   MSE  mean e^2
//	MRE  mean |e|/|exact| over pairs with exact != 0
//	WCRE max  |e|/|exact| over pairs with exact != 0
//	Bias mean e      Var  mean (e - Bias)^2      Std  sqrt(Var)
//	NMAE MAE/2^16    NWCE WCE/2^16    NMED MAE / max|exact|
//
// EP, MRE, WCRE and the normalised forms are fractions, never percentages.
// Under weights, the means are expectations under p(x)p(w), and the maxima
// are taken over the pairs of non-zero probability. Bias and Var are the mean
// and variance of the product error that a Gaussian error model of the
// multiplier needs; ErrorMoments returns just those two.
package metrics
