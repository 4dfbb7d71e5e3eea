package harness

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
)

// serveEC2 takes the EC2 calls (form POSTs of the query protocol) whose answer the front patches, refuses or
// completes; it returns false for those that go to moto as they are.
func (f *Front) serveEC2(w http.ResponseWriter, r *http.Request, region string) bool {
	q, err := url.ParseQuery(string(peekBody(r)))
	if err != nil {
		return false
	}
	switch a := q.Get("Action"); a {
	case "DescribeLaunchTemplateVersions", "DescribeLaunchTemplates":
		f.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rewriteKey{}, &rewrite{op: a})))
		return true
	case "DeleteSubnet":
		return f.refuseSubnetInUse(w, r, region, q.Get("SubnetId"))
	case "DeleteSecurityGroup":
		return f.refuseGroupInUse(w, r, region, q.Get("GroupId"), q.Get("GroupName"))
	case "DetachInternetGateway":
		return f.refuseDetachWithPublicAddresses(w, r, region, q.Get("InternetGatewayId"), q.Get("VpcId"))
	case "DeleteNatGateway":
		f.deleteNatGateway(w, r, region, q.Get("NatGatewayId"))
		return true
	}
	return false
}

// replaceBody replaces a response's body by edit(body).
func replaceBody(resp *http.Response, edit func([]byte) []byte) error {
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	out := edit(raw)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Del("Content-Encoding")
	return nil
}

var launchTemplateTagSpec = regexp.MustCompile(
	`<item><resourceType>launch-template</resourceType><tagSet>.*?</tagSet></item>`)

// dropLaunchTemplateTagSpecs removes, from a DescribeLaunchTemplateVersions answer, the tag specifications of type
// launch-template that moto copies into the template's data (EC2 keeps them on the template, not in its data).
func dropLaunchTemplateTagSpecs(b []byte) []byte {
	b = launchTemplateTagSpec.ReplaceAll(b, nil)
	return bytes.ReplaceAll(b, []byte("<tagSpecificationSet></tagSpecificationSet>"), nil)
}

var (
	launchTemplateID = regexp.MustCompile(`<launchTemplateId>(lt-[0-9a-f]+)</launchTemplateId>`)
	tagSetElement    = regexp.MustCompile(`<tagSet/>|<tagSet>.*?</tagSet>`)
)

// currentLaunchTemplateTags replaces, in a DescribeLaunchTemplates answer, each template's tags by those moto's
// DescribeTags holds for it. The answer is left as it is when moto cannot be asked.
func (f *Front) currentLaunchTemplateTags(in *http.Request, b []byte) []byte {
	ids := launchTemplateID.FindAllSubmatchIndex(b, -1)
	if len(ids) == 0 {
		return b
	}
	form := url.Values{"Action": {"DescribeTags"}, "Version": {"2016-11-15"}, "Filter.1.Name": {"resource-id"}}
	for i, m := range ids {
		form.Set("Filter.1.Value."+strconv.Itoa(i+1), string(b[m[2]:m[3]]))
	}
	status, raw, err := f.askMoto(in, http.MethodPost, "/", []byte(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if err != nil {
		return b
	}
	var tags struct {
		Items []struct {
			Key        string `xml:"key"`
			ResourceID string `xml:"resourceId"`
			Value      string `xml:"value"`
		} `xml:"tagSet>item"`
	}
	if status != http.StatusOK || xml.Unmarshal(raw, &tags) != nil {
		return b
	}
	sets := map[string]*bytes.Buffer{}
	for _, t := range tags.Items {
		if sets[t.ResourceID] == nil {
			sets[t.ResourceID] = &bytes.Buffer{}
		}
		w := sets[t.ResourceID]
		w.WriteString("<item><key>")
		_ = xml.EscapeText(w, []byte(t.Key))
		w.WriteString("</key><value>")
		_ = xml.EscapeText(w, []byte(t.Value))
		w.WriteString("</value></item>")
	}
	var out bytes.Buffer
	last := 0
	for i, m := range ids {
		end := len(b)
		if i+1 < len(ids) {
			end = ids[i+1][0]
		}
		seg := b[m[0]:end]
		loc := tagSetElement.FindIndex(seg)
		if loc == nil {
			continue
		}
		out.Write(b[last : m[0]+loc[0]])
		out.WriteString("<tagSet>")
		if w := sets[string(b[m[2]:m[3]])]; w != nil {
			out.Write(w.Bytes())
		}
		out.WriteString("</tagSet>")
		last = m[0] + loc[1]
	}
	out.Write(b[last:])
	return out.Bytes()
}
