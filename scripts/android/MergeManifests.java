// Merges Android library manifests into an app's manifest, as the Android
// Gradle Plugin's merger does for the parts an APK needs, so an APK built
// without Gradle (scripts/build-android.sh) declares what a Gradle build would.
//
//   java scripts/android/MergeManifests.java --package io.hotline.demo \
//        --out merged.xml app/AndroidManifest.xml lib1/AndroidManifest.xml ...
//
// Rules: the app's manifest is the base and wins. From each library (in
// order) it adds the top-level elements (uses-permission, uses-feature,
// permission, queries, ...) and the <application> children (activity,
// service, receiver, provider, meta-data, ...) whose android:name the result
// does not have yet; duplicates of one name are kept once. The libraries'
// <uses-sdk> and <application> attributes are not taken (Gradle's minSdk and
// targetSdk come from the build; aapt2 link writes them). `tools:`
// attributes are dropped and ${applicationId} becomes the package. It sets
// the manifest's package attribute (a Gradle namespace) when missing.
import java.io.File;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Attr;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

public class MergeManifests {
    static final String ANDROID = "http://schemas.android.com/apk/res/android";
    static final String TOOLS = "http://schemas.android.com/tools";

    public static void main(String[] args) throws Exception {
        String pkg = null, out = null;
        List<File> inputs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--package": pkg = args[++i]; break;
                case "--out": out = args[++i]; break;
                default: inputs.add(new File(args[i]));
            }
        }
        if (pkg == null || out == null || inputs.isEmpty()) {
            System.err.println("usage: MergeManifests --package PKG --out FILE APP_MANIFEST [LIBRARY_MANIFEST...]");
            System.exit(2);
        }
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        Document app = f.newDocumentBuilder().parse(inputs.get(0));
        Element root = app.getDocumentElement();
        if (root.getAttribute("package").isEmpty()) root.setAttribute("package", pkg);
        Element application = firstChild(root, "application");
        if (application == null) {
            application = app.createElement("application");
            root.appendChild(application);
        }
        Set<String> seen = new HashSet<>();
        collectNames(root, seen);
        collectNames(application, seen);
        for (File lib : inputs.subList(1, inputs.size())) {
            Element libRoot = f.newDocumentBuilder().parse(lib).getDocumentElement();
            for (Element e : children(libRoot)) {
                String tag = e.getTagName();
                if (tag.equals("uses-sdk")) continue;
                if (tag.equals("application")) {
                    for (Element c : children(e)) add(app, application, c, seen, pkg);
                } else {
                    add(app, root, e, seen, pkg);
                }
            }
        }
        stripTools(root);
        var t = TransformerFactory.newInstance().newTransformer();
        t.setOutputProperty(OutputKeys.INDENT, "yes");
        t.transform(new DOMSource(app), new StreamResult(new File(out)));
    }

    /** Adds a copy of [e] under [parent] unless an element of that tag and name is there. */
    static void add(Document doc, Element parent, Element e, Set<String> seen, String pkg) {
        String key = key(e);
        if (key != null && !seen.add(key)) return;
        Element copy = (Element) doc.importNode(e, true);
        replacePlaceholders(copy, pkg);
        parent.appendChild(copy);
    }

    static void collectNames(Element parent, Set<String> seen) {
        for (Element e : children(parent)) {
            String key = key(e);
            if (key != null) seen.add(key);
        }
    }

    /** tag + android:name, or null for unnamed elements (always added). */
    static String key(Element e) {
        String name = e.getAttributeNS(ANDROID, "name");
        return name.isEmpty() ? null : e.getTagName() + " " + name;
    }

    static void replacePlaceholders(Element e, String pkg) {
        NamedNodeMap attrs = e.getAttributes();
        for (int i = 0; i < attrs.getLength(); i++) {
            Attr a = (Attr) attrs.item(i);
            a.setValue(a.getValue().replace("${applicationId}", pkg));
        }
        for (Element c : children(e)) replacePlaceholders(c, pkg);
    }

    static void stripTools(Element e) {
        NamedNodeMap attrs = e.getAttributes();
        for (int i = attrs.getLength() - 1; i >= 0; i--) {
            Attr a = (Attr) attrs.item(i);
            if (TOOLS.equals(a.getNamespaceURI()) || (a.getName().equals("xmlns:tools"))) e.removeAttributeNode(a);
        }
        for (Element c : children(e)) stripTools(c);
    }

    static Element firstChild(Element parent, String tag) {
        for (Element e : children(parent)) if (e.getTagName().equals(tag)) return e;
        return null;
    }

    static List<Element> children(Element parent) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element) out.add((Element) n);
        }
        return out;
    }
}
