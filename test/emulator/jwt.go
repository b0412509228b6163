package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"time"
)

// jwtSigner signs and verifies RS256 JSON Web Tokens with one RSA key.
type jwtSigner struct {
	key *rsa.PrivateKey
	kid string
}

func newJWTSigner(kid string) (*jwtSigner, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &jwtSigner{key: key, kid: kid}, nil
}

var b64 = base64.RawURLEncoding

// sign returns the compact serialization of an RS256 JWT with the claims.
func (s *jwtSigner) sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signingInput := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signingInput + "." + b64.EncodeToString(sig), nil
}

// Errors returned by verify; callers map them to HTTP answers.
var (
	errTokenMalformed = errors.New("malformed token")
	errTokenSignature = errors.New("token signature does not verify")
	errTokenExpired   = errors.New("token expired")
)

// verify checks the token's signature with this signer's key and its exp
// claim against now, and returns the claims.
func (s *jwtSigner) verify(token string, now time.Time) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errTokenMalformed
	}
	headerJSON, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, errTokenMalformed
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(headerJSON, &header); err != nil || header.Alg != "RS256" {
		return nil, errTokenMalformed
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errTokenMalformed
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, errTokenSignature
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errTokenMalformed
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, errTokenMalformed
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return nil, errTokenMalformed
	}
	if !now.Before(time.Unix(int64(exp), 0)) {
		return claims, errTokenExpired
	}
	return claims, nil
}

// jwk is the JSON Web Key form of an RSA public key, as carried in the "jwk"
// claim of OCI security tokens.
type jwk struct {
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// jwkClaim encodes pub the way OCI security tokens carry it: a JSON string
// holding the JWK object.
func jwkClaim(pub *rsa.PublicKey, kid string) (string, error) {
	b, err := json.Marshal(jwk{
		Kid: kid,
		N:   b64.EncodeToString(pub.N.Bytes()),
		E:   b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		Kty: "RSA",
		Alg: "RS256",
		Use: "sig",
	})
	return string(b), err
}

// signSecurityToken signs an OCI security token bound to pub: the claims in
// extra plus the ones every security token carries (tenant, aud, iss, iat
// from now, exp, a random jti, and pub as the "jwk" claim with a key id of
// kidPrefix and random hex).
func (e *Emulator) signSecurityToken(pub *rsa.PublicKey, kidPrefix string, now, exp time.Time, extra map[string]any) (string, error) {
	jwkJSON, err := jwkClaim(pub, kidPrefix+randomHex(8))
	if err != nil {
		return "", err
	}
	claims := maps.Clone(extra)
	claims["tenant"] = e.tenancyID
	claims["aud"] = "oci"
	claims["iss"] = "authService.oracle.com"
	claims["iat"] = now.Unix()
	claims["exp"] = exp.Unix()
	claims["jti"] = randomHex(16)
	claims["jwk"] = jwkJSON
	return e.stSigner.sign(claims)
}

// publicKeyFromJWKClaim accepts the claim either as a JSON string holding the
// JWK (what OCI issues) or as a JWK object.
func publicKeyFromJWKClaim(v any) (*rsa.PublicKey, error) {
	var k jwk
	switch t := v.(type) {
	case string:
		if err := json.Unmarshal([]byte(t), &k); err != nil {
			return nil, fmt.Errorf("jwk claim: %w", err)
		}
	case map[string]any:
		b, _ := json.Marshal(t)
		if err := json.Unmarshal(b, &k); err != nil {
			return nil, fmt.Errorf("jwk claim: %w", err)
		}
	default:
		return nil, errors.New("jwk claim missing")
	}
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("jwk claim: unsupported key type %q", k.Kty)
	}
	n, err := b64.DecodeString(k.N)
	if err != nil || len(n) == 0 {
		return nil, errors.New("jwk claim: bad modulus")
	}
	e, err := b64.DecodeString(k.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("jwk claim: bad exponent")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

// parseRSAPublicKey reads an RSA public key given as PEM ("PUBLIC KEY") or as
// the base64 DER body the SDK sends with the armour stripped.
func parseRSAPublicKey(s string) (*rsa.PublicKey, error) {
	der, err := decodePEMOrDER(s, "public key")
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("public key is not RSA")
	}
	return rsaPub, nil
}

// parseCertificate reads a certificate given as PEM or as base64 DER.
func parseCertificate(s string) (*x509.Certificate, error) {
	der, err := decodePEMOrDER(s, "certificate")
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// decodePEMOrDER returns the DER bytes of s, given as a PEM block or as
// base64 DER; what names the object in the error.
func decodePEMOrDER(s, what string) ([]byte, error) {
	if block, _ := pem.Decode([]byte(s)); block != nil {
		return block.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s is neither PEM nor base64 DER: %w", what, err)
	}
	return der, nil
}
