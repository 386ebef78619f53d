-- What a reporter may add so that nothing is typed twice: the first fixed
-- version, the weakness (a CWE ID) and a CVSS vector. All optional. Keep in
-- lockstep with the other dialect.
ALTER TABLE reports ADD COLUMN fixed_version TEXT;
ALTER TABLE reports ADD COLUMN cwe TEXT;
ALTER TABLE reports ADD COLUMN cvss_vector TEXT;
