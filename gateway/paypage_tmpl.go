package gateway

import "html/template"

// payPageTemplate is the one payment page: the card form, or a message. Plain HTML, no script,
// one nonce'd style block, native labels and autocomplete tokens so browsers, password managers
// and screen readers handle the fields, and numeric keypads on phones.
var payPageTemplate = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} – {{.Merchant}}</title>
<style nonce="{{.Nonce}}">
body{font:1.125rem/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#111}
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #ccd;border-radius:8px}
h1{font-size:1.5rem;margin-top:0}
label{display:block;font-weight:600;margin-top:1rem}
.hint{display:block;font-weight:400;color:#444;font-size:1rem}
input,select{font:inherit;width:100%;box-sizing:border-box;padding:.6rem;margin-top:.25rem;border:2px solid #555;border-radius:4px}
input:focus,select:focus{outline:3px solid #1a5fb4;outline-offset:2px}
input[aria-invalid=true]{border-color:#b00020}
.row{display:flex;gap:1rem}.row>div{flex:1}
button{font:inherit;font-weight:700;margin-top:1.5rem;width:100%;padding:.8rem;background:#1a5fb4;color:#fff;border:0;border-radius:4px}
button:focus{outline:3px solid #111;outline-offset:2px}
.error{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fdecee}
.amount{font-size:1.75rem;font-weight:700}
.merchant{display:flex;align-items:center;gap:.75rem;margin:0 0 1rem;font-weight:700}
.merchant img{max-height:3rem;max-width:10rem}
.field-error{display:block;color:#b00020;font-weight:600;margin-top:.25rem}
.error ul{margin:.25rem 0;padding-left:1.25rem}.error a{color:#b00020}
.support{margin-top:1.5rem;border-top:1px solid #ccd;padding-top:1rem}
h2{font-size:1.125rem;margin-bottom:.25rem}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.25rem .5rem .25rem 0;border-bottom:1px solid #ccd}
</style>
</head>
<body>
<main>
<header class="merchant">{{if .Logo}}<img src="{{.Logo}}" alt="{{.Merchant}}">{{end}}<span>{{.Merchant}}</span></header>
<h1>{{.Title}}</h1>
{{if .ShowForm}}
<p>{{if .Authorize}}Authorise{{else}}Pay{{end}} <span class="amount">{{.Amount}}</span>{{if .Reference}} for reference <strong>{{.Reference}}</strong>{{end}} to {{.Merchant}}.</p>
{{if .Authorize}}<p class="hint" id="hold-note">The amount is held{{if .Bank}} on your account{{else}} on your card{{end}} now; {{.Merchant}} takes it later, or releases it.</p>{{end}}
{{with .Invoice}}<section aria-labelledby="invoice-h"><h2 id="invoice-h">Invoice {{.ID}}</h2>{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Lines}}<table><caption class="hint">What you are paying for</caption><thead><tr><th scope="col">Item</th><th scope="col">Qty</th><th scope="col">Each</th></tr></thead><tbody>
{{range .Lines}}<tr><td>{{.Description}}</td><td>{{.Quantity}}</td><td>{{.Amount}}</td></tr>
{{end}}</tbody></table>{{end}}</section>{{end}}
{{if .Error}}<div class="error" role="alert" id="form-error"><p>{{.Error}}</p></div>{{end}}
{{if .Errors}}<div class="error" role="alert" id="form-errors"><p>{{if eq (len .Errors) 1}}One thing to correct:{{else}}{{len .Errors}} things to correct:{{end}}</p>
<ul>{{range .Errors}}<li><a href="#{{.Field}}">{{.Label}}: {{.Message}}</a></li>{{end}}</ul></div>{{end}}
<form method="post" autocomplete="on" novalidate>
{{if .Bank}}
<label for="bank-routing-number">Routing number
<span class="hint" id="bank-routing-number-hint">The 9 digits that name your bank, at the bottom left of a cheque</span></label>
<input id="bank-routing-number" name="bank-routing-number" type="text" inputmode="numeric" autocomplete="off" maxlength="11" required aria-describedby="bank-routing-number-hint{{if .FieldError "bank-routing-number"}} bank-routing-number-error{{end}}"{{if .FieldError "bank-routing-number"}} aria-invalid="true"{{end}}>
{{with .FieldError "bank-routing-number"}}<span class="field-error" id="bank-routing-number-error">{{.}}</span>{{end}}
<label for="bank-account-number">Account number
<span class="hint" id="bank-account-number-hint">4 to 17 digits</span></label>
<input id="bank-account-number" name="bank-account-number" type="password" inputmode="numeric" autocomplete="off" maxlength="21" required aria-describedby="bank-account-number-hint{{if .FieldError "bank-account-number"}} bank-account-number-error{{end}}"{{if .FieldError "bank-account-number"}} aria-invalid="true"{{end}}>
{{with .FieldError "bank-account-number"}}<span class="field-error" id="bank-account-number-error">{{.}}</span>{{end}}
<label for="bank-account-number-confirm">Account number again
<span class="hint" id="bank-account-number-confirm-hint">To check it</span></label>
<input id="bank-account-number-confirm" name="bank-account-number-confirm" type="password" inputmode="numeric" autocomplete="off" maxlength="21" required aria-describedby="bank-account-number-confirm-hint{{if .FieldError "bank-account-number-confirm"}} bank-account-number-confirm-error{{end}}"{{if .FieldError "bank-account-number-confirm"}} aria-invalid="true"{{end}}>
{{with .FieldError "bank-account-number-confirm"}}<span class="field-error" id="bank-account-number-confirm-error">{{.}}</span>{{end}}
<label for="bank-account-type">Account type</label>
<select id="bank-account-type" name="bank-account-type"{{if .FieldError "bank-account-type"}} aria-invalid="true" aria-describedby="bank-account-type-error"{{end}}>
{{range .AccountTypes}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>
{{end}}</select>
{{with .FieldError "bank-account-type"}}<span class="field-error" id="bank-account-type-error">{{.}}</span>{{end}}
{{else}}
<label for="cc-number">Card number
<span class="hint" id="cc-number-hint">The long number on the front of your card</span></label>
<input id="cc-number" name="cc-number" type="text" inputmode="numeric" autocomplete="cc-number" maxlength="23" required aria-describedby="cc-number-hint{{if .FieldError "cc-number"}} cc-number-error{{end}}"{{if .FieldError "cc-number"}} aria-invalid="true"{{end}}>
{{with .FieldError "cc-number"}}<span class="field-error" id="cc-number-error">{{.}}</span>{{end}}
<div class="row">
<div>
<label for="cc-exp">Expiry date <span class="hint" id="cc-exp-hint">MM/YY</span></label>
<input id="cc-exp" name="cc-exp" type="text" inputmode="numeric" autocomplete="cc-exp" maxlength="7" required aria-describedby="cc-exp-hint{{if .FieldError "cc-exp"}} cc-exp-error{{end}}"{{if .FieldError "cc-exp"}} aria-invalid="true"{{end}}>
{{with .FieldError "cc-exp"}}<span class="field-error" id="cc-exp-error">{{.}}</span>{{end}}
</div>
<div>
<label for="cc-csc">Security code <span class="hint" id="cc-csc-hint">3 digits on the back, 4 on the front for Amex</span></label>
<input id="cc-csc" name="cc-csc" type="password" inputmode="numeric" autocomplete="cc-csc" maxlength="4" required aria-describedby="cc-csc-hint{{if .FieldError "cc-csc"}} cc-csc-error{{end}}"{{if .FieldError "cc-csc"}} aria-invalid="true"{{end}}>
{{with .FieldError "cc-csc"}}<span class="field-error" id="cc-csc-error">{{.}}</span>{{end}}
</div>
</div>
<label for="postal-code">Postcode <span class="hint" id="postal-code-hint">Of the card's billing address (optional)</span></label>
<input id="postal-code" name="postal-code" type="text" autocomplete="postal-code" maxlength="16" aria-describedby="postal-code-hint{{if .FieldError "postal-code"}} postal-code-error{{end}}"{{if .FieldError "postal-code"}} aria-invalid="true"{{end}}>
{{with .FieldError "postal-code"}}<span class="field-error" id="postal-code-error">{{.}}</span>{{end}}
{{end}}
<button type="submit">{{if .Authorize}}Authorise{{else}}Pay{{end}} {{.Amount}}</button>
</form>
<p class="hint">Your {{if .Bank}}bank{{else}}card{{end}} details go straight to the payment provider over an encrypted connection. We never text or call asking for your {{if .Bank}}account{{else}}card{{end}}.</p>
{{else}}
<p{{if not .Paid}} role="alert"{{end}}>{{.Message}}</p>
{{if .Paid}}<p>Amount{{if .Authorize}} held{{end}}: <strong>{{.Amount}}</strong>{{if .Reference}}, reference <strong>{{.Reference}}</strong>{{end}}.</p>
{{if .HoldUntil}}<p>The hold is released on <strong>{{.HoldUntil}}</strong> if the payment is not taken by then.</p>{{end}}
{{if .MaskedAccount}}<p>From account <strong>{{.MaskedAccount}}</strong>.</p>{{end}}
{{if .Confirmation}}<p>Confirmation: <strong>{{.Confirmation}}</strong></p>{{end}}{{end}}
{{end}}
{{if .Support}}<p class="support">Questions about this payment? Contact {{.Merchant}}: {{.Support}}</p>{{end}}
</main>
</body>
</html>
`))
