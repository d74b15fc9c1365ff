"""GBDT leaf encoding + logistic regression (He et al., "Practical Lessons from Predicting Clicks on
Ads at Facebook", 2014): boosted trees turn features into leaf indices; the one-hot leaves, with
chosen raw features, are the input of a logistic regression."""
