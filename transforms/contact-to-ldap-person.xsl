<?xml version="1.0" encoding="UTF-8"?>
<!--
  contact-to-ldap-person.xsl: a CouchDB contact document (as the couchdb source publishes it) to
  an LDAP inetOrgPerson entry (as the ldap sink writes it). The reverse of
  ldap-person-to-contact.xsl.

    object type  $contact-type (default "contact") -> inetOrgPerson
    name      -> cn                 firstName  -> givenName
    lastName  -> sn                 email      -> mail
    phone     -> telephoneNumber    jobTitle   -> title
    department -> ou

  inetOrgPerson requires cn and sn: a contact without lastName gets sn from name, one without
  name gets cn from lastName (and <changed> says so). objectClass is added (top, person,
  organizationalPerson, inetOrgPerson) with the CSN of the oldest field, so it does not look
  changed on every revision. Integer and decimal values become strings; other document
  properties (and boolean, json, binary values) are dropped. With $parent-dn set, an entry
  without an ldap-dn key gets one: cn=<cn>,<parent-dn> (the sink's dn option can do the same).
  Identity (atom id, origin, CSN, keys, tags, per-field CSNs) is kept. Tombstones of contacts get
  the inetOrgPerson type. Entries of other types are dropped unless $other-types = 'copy'.
-->
<xsl:stylesheet version="3.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:at="http://purl.org/atompub/tombstones/1.0"
    xmlns:ps="urn:xmpp:pubsync:entry:1"
    xmlns:local="urn:pubsync:transforms:local"
    exclude-result-prefixes="#all" expand-text="yes">

  <xsl:param name="contact-type" as="xs:string" select="'contact'"/>
  <xsl:param name="parent-dn" as="xs:string" select="''"/>
  <!-- 'drop' or 'copy': what happens to entries that are not contacts. -->
  <xsl:param name="other-types" as="xs:string" select="'drop'"/>

  <xsl:variable name="names" as="map(xs:string, xs:string)" select="map {
      'name': 'cn', 'firstName': 'givenName', 'lastName': 'sn', 'email': 'mail',
      'phone': 'telephoneNumber', 'jobTitle': 'title', 'department': 'ou' }"/>

  <xsl:mode on-no-match="shallow-copy"/>

  <xsl:function name="local:is-contact" as="xs:boolean">
    <xsl:param name="object" as="element(ps:object)?"/>
    <xsl:sequence select="string($object/@type) = $contact-type"/>
  </xsl:function>

  <!-- The fields that can go to the directory: mapped names, string-like values. -->
  <xsl:function name="local:mappable" as="element(ps:field)*">
    <xsl:param name="object" as="element(ps:object)"/>
    <xsl:sequence select="$object/ps:field[map:contains($names, string(ps:name))][@type = ('string', 'integer', 'decimal')]"
        xmlns:map="http://www.w3.org/2005/xpath-functions/map"/>
  </xsl:function>

  <!-- RFC 4514: escape the characters that are special in an RDN value. -->
  <xsl:function name="local:rdn-value" as="xs:string">
    <xsl:param name="value" as="xs:string"/>
    <xsl:variable name="escaped" select="replace($value, '([,+&quot;\\&lt;&gt;;=])', '\\$1')"/>
    <xsl:sequence select="replace(replace($escaped, '^([ #])', '\\$1'), ' $', '\\ ')"/>
  </xsl:function>

  <!-- A delete passes whatever its type says: a source may not know the type of what it deleted
       (a CouchDB tombstone has no properties), and a delete of what the directory does not hold
       changes nothing there. -->
  <xsl:template match="atom:entry[not(local:is-contact(atom:content/ps:object))]">
    <xsl:if test="$other-types = 'copy'">
      <xsl:next-match/>
    </xsl:if>
  </xsl:template>

  <xsl:template match="atom:entry[local:is-contact(atom:content/ps:object)]/atom:category[@scheme = 'urn:pubsync:type']/@term">
    <xsl:attribute name="term" select="'inetOrgPerson'"/>
  </xsl:template>

  <xsl:template match="at:deleted-entry/ps:object[local:is-contact(.)]/@type">
    <xsl:attribute name="type" select="'inetOrgPerson'"/>
  </xsl:template>

  <xsl:template match="atom:content/ps:object[local:is-contact(.)]">
    <xsl:variable name="fields" select="local:mappable(.)"/>
    <xsl:variable name="name" select="$fields[ps:name = 'name'][1]"/>
    <xsl:variable name="last" select="$fields[ps:name = 'lastName'][1]"/>
    <!-- A contact that lost both names (a delete it outlived removed them) is named by its
         document id: a directory entry cannot be without cn and sn. -->
    <xsl:variable name="by-id" as="element(ps:field)?">
      <xsl:if test="empty(($name, $last)[ps:v]) and exists(ps:key[@scheme = 'couchdb-id'])">
        <ps:field type="string" csn="{@csn}"><ps:name>name</ps:name><ps:v>{string(ps:key[@scheme = 'couchdb-id'][1])}</ps:v></ps:field>
      </xsl:if>
    </xsl:variable>
    <xsl:variable name="cn" select="($name[ps:v], $last[ps:v], $by-id, $name, $last)[1]"/>
    <xsl:variable name="sn" select="($last[ps:v], $name[ps:v], $by-id, $last, $name)[1]"/>
    <xsl:copy>
      <xsl:copy-of select="@*"/>
      <xsl:attribute name="type" select="'inetOrgPerson'"/>
      <xsl:copy-of select="ps:origin, ps:key"/>
      <xsl:if test="$parent-dn != '' and not(ps:key[@scheme = 'ldap-dn']) and exists($cn/ps:v[1])">
        <ps:key scheme="ldap-dn">cn={local:rdn-value(string($cn/ps:v[1]))},{$parent-dn}</ps:key>
      </xsl:if>
      <!-- As new as the newest field the contact has: the classes live as long as any of it does. -->
      <ps:field type="string" csn="{(max(ps:field[ps:v]/@csn/string()), @csn)[1]}">
        <ps:name>objectClass</ps:name>
        <ps:v>top</ps:v><ps:v>person</ps:v><ps:v>organizationalPerson</ps:v><ps:v>inetOrgPerson</ps:v>
      </ps:field>
      <xsl:for-each select="$fields[not(ps:name = ('name', 'lastName'))]">
        <xsl:copy>
          <xsl:attribute name="type" select="'string'"/>
          <xsl:copy-of select="@csn"/>
          <ps:name>{$names(string(ps:name))}</ps:name>
          <xsl:copy-of select="ps:v"/>
        </xsl:copy>
      </xsl:for-each>
      <xsl:for-each select="$cn, $sn">
        <ps:field type="string" csn="{@csn}">
          <ps:name>{if (position() = 1) then 'cn' else 'sn'}</ps:name>
          <xsl:copy-of select="ps:v"/>
        </ps:field>
      </xsl:for-each>
      <xsl:variable name="changed" as="xs:string*">
        <xsl:for-each select="ps:changed">
          <xsl:sequence select="$names(string(.))"/>
          <xsl:if test=". = 'name' and empty($last)">sn</xsl:if>
          <xsl:if test=". = 'lastName' and empty($name)">cn</xsl:if>
        </xsl:for-each>
      </xsl:variable>
      <xsl:for-each select="distinct-values($changed)">
        <ps:changed>{.}</ps:changed>
      </xsl:for-each>
      <xsl:copy-of select="ps:child, ps:attachment"/>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
